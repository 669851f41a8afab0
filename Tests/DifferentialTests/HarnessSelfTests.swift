import Glibc
import StrataTestSupport
import Testing

/// Checks of the harness itself: if these fail, a difference reported by the other suites may be the
/// harness's fault rather than Strata's.
@Suite("harness self-checks")
struct HarnessSelfTests {
    @Test("a fixture materialises identically twice, with fixed 2001 times and kernel-format markers")
    func fixtureIsReproducible() throws {
        let scratch = try TemporaryDirectory(prefix: "strata-harness")
        let first = try StandardFixtures.layered.build(in: try scratch.makeSubdirectory("one"))
        let second = try StandardFixtures.layered.build(in: try scratch.makeSubdirectory("two"))
        for (a, b) in zip(first.lowers + [first.upper], second.lowers + [second.upper]) {
            let left = try TreeSnapshot.directory(a, xattrs: .upperLayer)
            let right = try TreeSnapshot.directory(b, xattrs: .upperLayer)
            #expect(left.differences(from: right).isEmpty)
        }
        let bottom = try TreeSnapshot.directory(first.lowers[2], xattrs: .upperLayer)
        guard case .exact(let seconds, _)? = bottom.entries["a/f1"]?.mtime else {
            Issue.record("fixture mtime is not the fixed one")
            return
        }
        #expect(seconds < NormalizedTime.recentThreshold)
        #expect(bottom.entries["hl1"]?.linkCount == 2)
        #expect(bottom.entries["ro"]?.uid == 1234)
        #expect(bottom.entries["ro"]?.xattrs["user.k"] == Array("v".utf8))
        let top = try TreeSnapshot.directory(first.lowers[0], xattrs: .upperLayer)
        #expect(top.entries["a/b/c"]?.kind == .characterDevice)
        #expect(top.entries["a/b/c"]?.rdev == 0)
        let middle = try TreeSnapshot.directory(first.lowers[1], xattrs: .upperLayer)
        #expect(middle.entries["d"]?.xattrs["trusted.overlay.opaque"] == Array("y".utf8))
        #expect(!StandardFixtures.layered.usesOCIFormat)
    }

    @Test("OCI-format markers are written as .wh. files")
    func ociMarkers() throws {
        let scratch = try TemporaryDirectory(prefix: "strata-harness")
        let fixture = LayerFixture(lowers: [Layer([.whiteout("a/gone", style: .oci), .directory("o", opaque: .oci)])])
        #expect(fixture.usesOCIFormat)
        let layers = try fixture.build(in: scratch.path)
        let tree = try TreeSnapshot.directory(layers.lowers[0], xattrs: .upperLayer)
        #expect(tree.entries["a/.wh.gone"]?.kind == .regular)
        #expect(tree.entries["o/.wh..wh..opq"]?.kind == .regular)
    }

    @Test("removal copes with devices, read-only directories and symlinks, and never follows them")
    func removal() throws {
        let outside = try TemporaryDirectory(prefix: "strata-harness-outside")
        let keep = "\(outside.path)/keep"
        close(open(keep, O_CREAT | O_WRONLY, 0o644))
        let scratch = try TemporaryDirectory(prefix: "strata-harness-removal")
        let readOnly = try scratch.makeSubdirectory("ro")
        #expect(mknod("\(readOnly)/whiteout", S_IFCHR, 0) == 0)
        #expect(symlink(outside.path, "\(readOnly)/escape") == 0)
        #expect(symlink(keep, "\(readOnly)/escape-file") == 0)
        #expect(mknod("\(readOnly)/fifo", S_IFIFO | 0o600, 0) == 0)
        #expect(chmod(readOnly, 0o500) == 0)
        try scratch.remove()
        var info = stat()
        #expect(lstat(scratch.path, &info) != 0)
        #expect(lstat(keep, &info) == 0)
    }

    @Test("the shrinker keeps exactly the operations that matter")
    func shrinker() {
        let operations = (0..<60).map { Operation.stat("f\($0)") }
        let needles = [operations[13], operations[47]]
        let shrunk = Shrinker.shrink(operations) { candidate in needles.allSatisfy(candidate.contains) }
        #expect(shrunk == needles)
    }

    @Test("SplitMix64 matches the reference implementation, so seeds replay everywhere")
    func splitMix() {
        var random = SplitMix64(seed: 1_234_567)
        #expect(random.next() == 6_457_827_717_110_365_317)
        #expect(random.next() == 3_203_168_211_198_807_973)
    }

    @Test("operations print as Swift source")
    func printable() {
        let sequence: [Operation] = [.write("a \"b\"", at: 3, "x\n"), .rename("a", to: "b", .exchange), .chmod("f", 0o4755)]
        #expect(Operation.render(sequence) == """
            [
                .write("a \\"b\\"", at: 3, "x\\n"),
                .rename("a", to: "b", .exchange),
                .chmod("f", 0o4755),
            ]
            """)
    }

    @Test("the kernel against itself: random sequences give no differences",
          .enabled(if: KernelOverlay.isAvailable, "the kernel overlay cannot be mounted here (needs root and overlayfs)"),
          arguments: 0..<4)
    func kernelAgainstKernel(batch: UInt64) throws {
        let runner = DifferentialRunner(fixture: StandardFixtures.layered, reference: KernelBackend.factory(name: "kernel-A"),
                                        candidate: KernelBackend.factory(name: "kernel-B"))
        for seed in (batch * 5)..<(batch * 5 + 5) {
            var generator = RandomSequenceGenerator(fixture: StandardFixtures.layered, seed: 1_000_000 + seed)
            let report = try runner.run(generator.generate(count: 200))
            #expect(report.isClean, "seed \(1_000_000 + seed): \(report)")
        }
    }

    @Test("the harness sees a real difference: a lower-directory rename with and without redirect_dir",
          .enabled(if: KernelOverlay.isAvailable, "the kernel overlay cannot be mounted here (needs root and overlayfs)"))
    func detectsDifferences() throws {
        let runner = DifferentialRunner(fixture: StandardFixtures.layered,
                                        reference: KernelBackend.factory(options: KernelOverlay.featureOptions, name: "redirect"),
                                        candidate: KernelBackend.factory(options: KernelOverlay.plainOptions, name: "plain"))
        let report = try runner.run([.rename("a", to: "a2", .plain), .list("")])
        #expect(report.referenceOutcomes[0] == .success)
        #expect(report.candidateOutcomes[0] == .failure(errno: EXDEV))
        #expect(report.signature == "step:rename:ok≠EXDEV")
    }

    @Test("paths resolve inside the merged root, like Strata's API: symlinks cannot escape the mount",
          .enabled(if: KernelOverlay.isAvailable, "the kernel overlay cannot be mounted here (needs root and overlayfs)"))
    func resolutionStaysInRoot() throws {
        let scratch = try TemporaryDirectory(prefix: "strata-harness-resolve")
        let fixture = LayerFixture(lowers: [Layer([
            .file("x", "inside\n"), .symlink("up", to: ".."), .symlink("abs", to: "/"), .symlink("loop", to: "loop"),
        ])])
        let layers = try fixture.build(in: scratch.path)
        close(open("\(scratch.path)/x", O_CREAT | O_WRONLY, 0o644))  // a decoy beside the mount point
        let backend = try KernelBackend(layers: layers, mountPoint: try scratch.makeSubdirectory("merged"))
        defer { try? backend.finish() }
        #expect(backend.perform(.read("up/x")) == .bytes(Array("inside\n".utf8)))
        #expect(backend.perform(.read("abs/x")) == .bytes(Array("inside\n".utf8)))
        #expect(backend.perform(.read("up/up/abs/up/x")) == .bytes(Array("inside\n".utf8)))
        #expect(backend.perform(.stat("loop/x")) == .failure(errno: ELOOP))
        #expect(backend.perform(.read("up")) == .failure(errno: ELOOP))  // the last component is never followed
        #expect(backend.perform(.list("abs")) == .failure(errno: ENOTDIR))
    }
}
