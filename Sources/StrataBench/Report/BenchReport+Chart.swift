import Foundation

extension BenchReport {
    /// An SVG chart of first-pass lookup cost against the number of lower layers: one solid line per
    /// backend for names in the bottom layer, a dashed one for missing names; logarithmic axes.
    public var scalingChart: String {
        let width = 760.0, height = 460.0
        let left = 70.0, right = 190.0, top = 40.0, bottom = 50.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let layerCounts = Array(Set(scaling.map(\.layers))).sorted()
        let values = scaling.flatMap { [$0.existMicroseconds?.median, $0.missMicroseconds?.median].compactMap { $0 } }
            .filter { $0 > 0 }
        var svg = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            "<text x=\"\(left)\" y=\"22\" font-size=\"14\">First-pass lstat cost against lower layers (µs per call, log scales)</text>",
        ]
        guard layerCounts.count > 0, let lowest = values.min(), let highest = values.max() else {
            svg.append("<text x=\"\(left)\" y=\"\(top + 20)\">no scaling measurements</text></svg>")
            return svg.joined(separator: "\n") + "\n"
        }
        let minY = pow(10, floor(log10(lowest))), maxY = pow(10, ceil(log10(highest)))
        let minX = Double(layerCounts.first!), maxX = Double(max(layerCounts.last!, layerCounts.first! + 1))
        func x(_ layers: Int) -> Double {
            maxX == minX ? left : left + (log(Double(layers)) - log(minX)) / (log(maxX) - log(minX)) * plotWidth
        }
        func y(_ value: Double) -> Double {
            top + plotHeight - (log10(value) - log10(minY)) / (log10(maxY) - log10(minY)) * plotHeight
        }
        svg.append("<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotWidth)\" height=\"\(plotHeight)\" fill=\"none\" stroke=\"#999\"/>")
        var decade = minY
        while decade <= maxY * 1.0001 {
            let position = y(decade)
            svg.append("<line x1=\"\(left)\" y1=\"\(position)\" x2=\"\(left + plotWidth)\" y2=\"\(position)\" stroke=\"#eee\"/>")
            svg.append("<text x=\"\(left - 8)\" y=\"\(position + 4)\" text-anchor=\"end\">\(BenchReport.number(decade))</text>")
            decade *= 10
        }
        for layers in layerCounts {
            svg.append("<text x=\(quote(x(layers))) y=\"\(top + plotHeight + 18)\" text-anchor=\"middle\">\(layers)</text>")
        }
        svg.append("<text x=\"\(left + plotWidth / 2)\" y=\"\(height - 12)\" text-anchor=\"middle\">lower layers</text>")
        let colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
        let names = backends.map(\.name).filter { name in scaling.contains { $0.backend == name } }
        for (index, name) in names.enumerated() {
            let colour = colours[index % colours.count]
            let rows = scaling.filter { $0.backend == name }.sorted { $0.layers < $1.layers }
            for (dashed, key) in [(false, \ScalingResult.existMicroseconds), (true, \ScalingResult.missMicroseconds)] {
                let points = rows.compactMap { row in row[keyPath: key].map { (row.layers, $0.median) } }.filter { $0.1 > 0 }
                guard !points.isEmpty else { continue }
                let path = points.map { "\(x($0.0)),\(y($0.1))" }.joined(separator: " ")
                let dash = dashed ? " stroke-dasharray=\"5,4\"" : ""
                svg.append("<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash)/>")
                for point in points {
                    svg.append("<circle cx=\(quote(x(point.0))) cy=\(quote(y(point.1))) r=\"3\" fill=\"\(colour)\"/>")
                }
            }
            let legendY = top + 10 + Double(index) * 20
            svg.append("<line x1=\"\(left + plotWidth + 15)\" y1=\"\(legendY)\" x2=\"\(left + plotWidth + 40)\" y2=\"\(legendY)\" stroke=\"\(colour)\" stroke-width=\"2\"/>")
            svg.append("<text x=\"\(left + plotWidth + 46)\" y=\"\(legendY + 4)\">\(name)</text>")
        }
        let noteY = top + 20 + Double(names.count) * 20
        svg.append("<text x=\"\(left + plotWidth + 15)\" y=\"\(noteY)\">solid: bottom-layer name</text>")
        svg.append("<text x=\"\(left + plotWidth + 15)\" y=\"\(noteY + 16)\">dashed: missing name</text>")
        svg.append("</svg>")
        return svg.joined(separator: "\n") + "\n"
    }

    private func quote(_ value: Double) -> String { "\"\(String(format: "%.1f", value))\"" }
}
