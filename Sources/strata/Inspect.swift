import ArgumentParser
import Foundation
import Strata
import StrataOCI

/// `strata inspect`: what each layer of an image adds, what later layers throw away, and which deleted
/// files anyone with the image can still read.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show an image's layers: sizes, commands, wasted bytes and deleted files still in the blobs.",
        discussion: """
            Reads every layer blob once, verifying its digest, and never unpacks it. Wasted bytes are file \
            data a later layer overwrote, deleted or hid (whiteouts and opaque markers applied as a union \
            mount applies them; hard links counted once). "Deleted but still in the image" lists files a \
            later layer removed whose data an earlier layer's blob still carries: a secret added in one step \
            and removed in the next is still there. --json prints the same report for scripts (its fields \
            are listed in the README, "Inspect an image").
            """)

    @Argument(help: "The image: LAYOUT, LAYOUT:TAG or LAYOUT@sha256:DIGEST.")
    var image: String

    @Option(help: "The platform to pick from a multi-platform index (os/arch[/variant]); default: this machine's.")
    var platform: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Flag(help: "List every deleted file in the table (by default the first \(InspectionTable.deletedRows)).")
    var all = false

    func run() throws {
        let reference = try ImageReference(parsing: image)
        var chosen: Platform?
        if let platform {
            guard let parsed = Platform(platform) else {
                throw ValidationError("--platform '\(platform)' is not os/arch[/variant] (for example linux/arm64)")
            }
            chosen = parsed
        }
        let inspection = try ImageInspection(reference, platform: chosen)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(inspection), as: UTF8.self))
        } else {
            let table = InspectionTable(inspection, commandWidth: isatty(1) == 1 ? 60 : nil,
                                        deletedLimit: all ? nil : InspectionTable.deletedRows)
            print(table.text, terminator: "")
        }
    }
}

/// The human-readable report: one row per layer, the deleted files, the totals.
struct InspectionTable {
    let inspection: ImageInspection
    /// Commands longer than this are cut (on a terminal); nil keeps them whole.
    let commandWidth: Int?
    /// How many deleted files the table lists; nil lists them all (a removed directory can hold thousands).
    let deletedLimit: Int?
    static let deletedRows = 50

    init(_ inspection: ImageInspection, commandWidth: Int?, deletedLimit: Int?) {
        self.inspection = inspection
        self.commandWidth = commandWidth
        self.deletedLimit = deletedLimit
    }

    var text: String {
        var rows = [["LAYER", "BLOB", "SIZE", "TAR", "ENTRIES", "ADDS", "WASTED", "CREATED BY"]]
        for layer in inspection.layers {
            rows.append([
                "\(layer.number)", layer.blob.short, Self.bytes(layer.compressedSize), Self.bytes(layer.uncompressedSize),
                "\(layer.entries)", Self.bytes(layer.addedBytes), Self.bytes(layer.wastedBytes),
                command(layer.createdBy),
            ])
        }
        var text = "Image \(inspection.reference) (manifest \(inspection.manifest.short)"
        text += inspection.platform.map { ", \($0))\n" } ?? ")\n"
        text += Self.columns(rows, rightAligned: [0, 2, 3, 4, 5, 6])
        let totals = inspection.totals
        if inspection.deletedFiles.isEmpty {
            text += "\nNo deleted file is left in the layers.\n"
        } else {
            text += "\nDeleted but still in the image (readable from the layer blob):\n"
            var deleted = [["PATH", "SIZE", "IN LAYER", "DELETED BY"]]
            let shown = inspection.deletedFiles.prefix(deletedLimit ?? .max)
            for file in shown {
                // Names that are not UTF-8 show their bytes as \xff, as strata tree and diff show them.
                let links = file.hardLinks.isEmpty
                    ? "" : " (also " + file.hardLinks.map(FileName.printable).joined(separator: ", ") + ")"
                deleted.append([
                    FileName.printable(file.path) + links, Self.bytes(file.size), "\(file.layer)", "\(file.deletedBy)",
                ])
            }
            text += Self.columns(deleted, rightAligned: [1, 2, 3])
            if shown.count < inspection.deletedFiles.count {
                text += "… and \(inspection.deletedFiles.count - shown.count) more (--all or --json lists them)\n"
            }
        }
        text += "\nLayers: \(totals.layers), \(Self.bytes(totals.compressedSize)) stored, \(Self.bytes(totals.uncompressedSize)) uncompressed\n"
        text += "File data: \(Self.bytes(totals.addedBytes)) added, \(Self.bytes(totals.wastedBytes)) wasted, "
        text += "\(Self.bytes(totals.visibleBytes)) visible; efficiency \(Self.percent(totals.efficiency))\n"
        if totals.deletedFiles > 0 {
            text += "Deleted files still readable: \(totals.deletedFiles) (\(Self.bytes(totals.deletedBytes)))\n"
        }
        return text
    }

    private func command(_ createdBy: String?) -> String {
        guard let createdBy else { return "-" }
        let oneLine = createdBy.split(whereSeparator: \.isNewline).joined(separator: " ")
        guard let width = commandWidth, oneLine.count > width else { return oneLine }
        return String(oneLine.prefix(width - 1)) + "…"
    }

    /// Pads every column to its widest cell; the last column is never padded.
    static func columns(_ rows: [[String]], rightAligned: Set<Int>) -> String {
        let count = rows.map(\.count).max() ?? 0
        let widths = (0..<count).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                guard column < row.count - 1 else { return cell }
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned.contains(column) ? padding + cell : cell + padding
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    /// `512 B`, `1.5 kB`, `12 MB`: decimal units, three significant digits at most.
    static func bytes(_ count: Int64) -> String {
        guard count >= 1000 else { return "\(count) B" }
        var value = Double(count)
        var unit = "B"
        for next in ["kB", "MB", "GB", "TB", "PB"] where value >= 1000 {
            value /= 1000
            unit = next
        }
        return (value < 10 ? String(format: "%.1f", value) : String(format: "%.0f", value)) + " " + unit
    }

    static func percent(_ share: Double) -> String { String(format: "%.1f%%", share * 100) }
}
