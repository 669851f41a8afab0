import Strata
import StrataArchive

extension LayerReference {
    /// Checks what `reader` read (after its `finish()`) against this layer's descriptor and diffID: the
    /// blob's size and digest, then the digest of its decompressed tar. The error names the blob.
    func verify(_ reader: TarReader, in layout: ImageLayout) throws(StrataError) {
        guard reader.compressedSize == blob.size, reader.compressedDigest == blob.digest else {
            throw StrataError(.invalidLayer, "blob \(blob.digest) does not match its digest or size (corrupt or tampered): it has \(reader.compressedSize) bytes with digest \(reader.compressedDigest), its descriptor says \(blob.size) bytes", path: layout.path)
        }
        guard reader.uncompressedDigest == diffID else {
            throw StrataError(.invalidLayer, "blob \(blob.digest) unpacks to \(reader.uncompressedDigest), but the image config says its diffID is \(diffID)", path: layout.path)
        }
    }
}
