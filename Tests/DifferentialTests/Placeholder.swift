// Placeholder until the differential suite lands.
