import Foundation
import ShoalModels
import ShoalTesting
import Testing

/// A scratch directory removed when the value goes away.
private final class ScratchDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-safetensors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }

    func file(_ contents: Data, named name: String = "model.safetensors") throws -> URL {
        let file = url.appendingPathComponent(name)
        try contents.write(to: file)
        return file
    }
}

private func values(_ tensor: FloatTensor) -> [Float] {
    tensor.withUnsafeBufferPointer { Array($0) }
}

private func reason(opening data: Data) throws -> String? {
    let scratch = try ScratchDirectory()
    do {
        _ = try SafeTensors(contentsOf: try scratch.file(data))
        return nil
    } catch ModelError.corruptSafeTensors(_, let reason) {
        return reason
    }
}

@Suite struct SafeTensorsRoundTripTests {
    static let tensors: [SafeTensorsWriter.Tensor] = [
        ("b.matrix", [2, 3], [0.5, -1.25, 3, 1024, 0.0009765625, -2]),
        ("a.vector", [4], [1, 0, -0, 0.25]),
        ("c.scalar", [], [7]),
        ("d.empty", [0, 3], []),
    ]

    @Test(arguments: ["F32", "F16", "BF16"])
    func roundTripsValuesExactlyRepresentable(dtype: String) throws {
        let scratch = try ScratchDirectory()
        let file = try scratch.file(SafeTensorsWriter.encode(Self.tensors, dtype: dtype))
        let weights = try SafeTensors(contentsOf: file)

        #expect(weights.tensorNames == ["a.vector", "b.matrix", "c.scalar", "d.empty"])
        for tensor in Self.tensors {
            #expect(weights.shape(of: tensor.name) == tensor.shape)
            #expect(weights.dtype(of: tensor.name) == dtype)
            let read = try weights.floats(tensor.name, shape: tensor.shape)
            #expect(read.shape == tensor.shape)
            #expect(read.count == tensor.values.count)
            #expect(values(read) == tensor.values)
        }
    }

    @Test func f16RoundsToNearestEvenAndSaturatesToInfinity() throws {
        let inputs: [Float] = [1 + 0x1p-11, 1 + 3 * 0x1p-11, 70_000, -70_000, 0x1p-24, 0x1p-25, 3 * 0x1p-26, 65_520, 0.1]
        let expected: [Float] = [1, 1 + 0x1p-9, .infinity, -.infinity, 0x1p-24, 0, 0x1p-24, .infinity, 0.0999755859375]
        #expect(try written(inputs, dtype: "F16") == expected)
    }

    @Test func bf16RoundsToNearestEven() throws {
        let inputs: [Float] = [1 + 0x1p-8, 1 + 3 * 0x1p-8, 0.1, -.greatestFiniteMagnitude, .infinity]
        let expected: [Float] = [1, 1 + 0x1p-6, 0.10009765625, -.infinity, .infinity]
        #expect(try written(inputs, dtype: "BF16") == expected)
    }

    /// Decoding every binary16 bit pattern and encoding it again gives the same bits (NaNs stay NaN).
    @Test(arguments: ["F16", "BF16"])
    func everyHalfPrecisionBitPatternRoundTrips(dtype: String) throws {
        let patterns = (0...UInt16.max).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let header = #"{"all":{"dtype":"\#(dtype)","shape":[65536],"data_offsets":[0,131072]}}"#
        let scratch = try ScratchDirectory()
        let weights = try SafeTensors(contentsOf: try scratch.file(SafeTensorsWriter.rawFile(header: header, data: patterns)))
        let decoded = values(try weights.floats("all", shape: [65536]))

        let wrongDecodes = (0...UInt16.max).filter { bits in
            let value = decoded[Int(bits)]
            let reference = dtype == "BF16" ? Float(bitPattern: UInt32(bits) << 16) : float16Reference(bits)
            return value.bitPattern != reference.bitPattern && !(value.isNaN && reference.isNaN)
        }
        #expect(wrongDecodes.isEmpty)

        let reencoded = try SafeTensorsWriter.encode([("all", [65536], decoded)], dtype: dtype, metadata: [:])
        let body = Array(reencoded.suffix(patterns.count))
        let wrongEncodes = (0...UInt16.max).filter { bits in
            let index = 2 * Int(bits)
            return !decoded[Int(bits)].isNaN && (body[index], body[index + 1]) != (patterns[index], patterns[index + 1])
        }
        #expect(wrongEncodes.isEmpty)
    }

    @Test func listsButRefusesOtherDTypes() throws {
        let header = #"{"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"__metadata__":{"format":"pt"}}"#
        let scratch = try ScratchDirectory()
        let weights = try SafeTensors(contentsOf: try scratch.file(SafeTensorsWriter.rawFile(header: header, data: Array(repeating: 0, count: 16))))
        #expect(weights.tensorNames == ["ids"])
        #expect(weights.dtype(of: "ids") == "I64")
        #expect(weights.shape(of: "ids") == [2])
        #expect(throws: ModelError.unsupportedDType(name: "ids", dtype: "I64")) {
            try weights.floats("ids", shape: [2])
        }
    }

    @Test func unknownNamesAndWrongShapesThrow() throws {
        let scratch = try ScratchDirectory()
        let weights = try SafeTensors(contentsOf: try scratch.file(SafeTensorsWriter.encode(Self.tensors)))
        #expect(weights.shape(of: "missing") == nil)
        #expect(weights.dtype(of: "missing") == nil)
        #expect(throws: ModelError.missingTensor(name: "missing")) {
            try weights.floats("missing", shape: [1])
        }
        #expect(throws: ModelError.shapeMismatch(name: "b.matrix", expected: [3, 2], actual: [2, 3])) {
            try weights.floats("b.matrix", shape: [3, 2])
        }
    }

    @Test func missingFileAndDirectoryThrowFileErrors() throws {
        let scratch = try ScratchDirectory()
        let missing = scratch.url.appendingPathComponent("absent.safetensors")
        #expect(throws: ModelError.missingFile(path: missing.path)) {
            _ = try SafeTensors(contentsOf: missing)
        }
        let error = #expect(throws: ModelError.self) {
            _ = try SafeTensors(contentsOf: scratch.url)
        }
        guard case .unreadableFile(let path, _)? = error else {
            Issue.record("expected unreadableFile, got \(String(describing: error))")
            return
        }
        #expect(path == scratch.url.path)
    }

    @Test func alignedF32IsBorrowedFromTheMapping() throws {
        let scratch = try ScratchDirectory()
        let weights = try SafeTensors(contentsOf: try scratch.file(SafeTensorsWriter.encode(Self.tensors)))
        let first = try weights.floats("b.matrix", shape: [2, 3])
        let second = try weights.floats("b.matrix", shape: [2, 3])
        #expect(first.pointer == second.pointer)
    }

    @Test func convertedTensorsGetTheirOwnBuffers() throws {
        let scratch = try ScratchDirectory()
        let weights = try SafeTensors(contentsOf: try scratch.file(SafeTensorsWriter.encode(Self.tensors, dtype: "F16")))
        let first = try weights.floats("b.matrix", shape: [2, 3])
        let second = try weights.floats("b.matrix", shape: [2, 3])
        #expect(first.pointer != second.pointer)
    }

    /// A header whose length is not a multiple of 4 misaligns F32 data: it must be copied, not handed out misaligned.
    @Test func unalignedF32IsCopiedToAlignedMemory() throws {
        let payload: [Float] = [1.5, -2.25, 3.125]
        let header = #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#
        #expect((8 + header.utf8.count) % 4 != 0)
        let bytes = payload.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init) }
        let scratch = try ScratchDirectory()
        let weights = try SafeTensors(contentsOf: try scratch.file(SafeTensorsWriter.rawFile(header: header, data: bytes)))
        let tensor = try weights.floats("w", shape: [3])
        #expect(Int(bitPattern: tensor.pointer) % MemoryLayout<Float>.alignment == 0)
        #expect(values(tensor) == payload)
    }

    @Test func tensorsOutliveTheFileObject() throws {
        let scratch = try ScratchDirectory()
        let file = try scratch.file(SafeTensorsWriter.encode(Self.tensors))
        let borrowed = try SafeTensors(contentsOf: file).floats("b.matrix", shape: [2, 3])
        let converted = try SafeTensors(contentsOf: try scratch.file(SafeTensorsWriter.encode(Self.tensors, dtype: "BF16"), named: "bf16.safetensors"))
            .floats("a.vector", shape: [4])
        #expect(values(borrowed) == Self.tensors[0].values)
        #expect(values(converted) == Self.tensors[1].values)
    }

    @Test func readsConcurrently() async throws {
        let scratch = try ScratchDirectory()
        let weights = try SafeTensors(contentsOf: try scratch.file(SafeTensorsWriter.encode(Self.tensors, dtype: "F16")))
        let sums = try await withThrowingTaskGroup(of: Float.self) { group in
            for _ in 0..<8 {
                group.addTask { values(try weights.floats("b.matrix", shape: [2, 3])).reduce(0, +) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(sums == Array(repeating: Self.tensors[0].values.reduce(0, +), count: 8))
    }

    @Test func floatTensorFromValuesChecksTheCount() throws {
        let tensor = try FloatTensor(shape: [2, 2], values: [1, 2, 3, 4])
        #expect(tensor.count == 4)
        #expect(values(tensor) == [1, 2, 3, 4])
        #expect(throws: ModelError.self) { try FloatTensor(shape: [3], values: [1, 2]) }
        #expect(throws: ModelError.self) { try FloatTensor(shape: [Int.max, 2], values: []) }
        #expect(throws: ModelError.self) { try FloatTensor(shape: [-1], values: []) }
    }

    @Test func writerRejectsInconsistentTensors() {
        #expect(throws: ModelError.self) { try SafeTensorsWriter.encode([("x", [3], [1, 2])]) }
        #expect(throws: ModelError.self) { try SafeTensorsWriter.encode([("x", [1], [1]), ("x", [1], [2])]) }
        #expect(throws: ModelError.self) { try SafeTensorsWriter.encode([("x", [1], [1])], dtype: "F64") }
    }

    private func written(_ inputs: [Float], dtype: String) throws -> [Float] {
        let scratch = try ScratchDirectory()
        let file = try scratch.file(SafeTensorsWriter.encode([("x", [inputs.count], inputs)], dtype: dtype))
        return values(try SafeTensors(contentsOf: file).floats("x", shape: [inputs.count]))
    }

    private func float16Reference(_ bits: UInt16) -> Float {
        let magnitude = bits & 0x7FFF
        let sign: Float = bits & 0x8000 == 0 ? 1 : -1
        if magnitude >= 0x7C00 { return magnitude == 0x7C00 ? sign * .infinity : .nan }
        // Every finite binary16 value is an integer times 2^-24; the product is exact in float32.
        let exponent = Int(magnitude >> 10)
        let significand = Float(exponent == 0 ? Int(magnitude) : Int(magnitude & 0x3FF | 0x400))
        return sign * significand * Float(sign: .plus, exponent: max(exponent, 1) - 25, significand: 1)
    }
}

/// One malformed file and a word its error reason must contain.
private struct CorruptCase: Sendable, CustomTestStringConvertible {
    let testDescription: String
    let file: Data
    let keyword: String

    init(_ description: String, _ file: Data, _ keyword: String) {
        testDescription = description
        self.file = file
        self.keyword = keyword
    }

    init(_ description: String, header: String, data: [UInt8] = Array(repeating: 0, count: 16), _ keyword: String) {
        self.init(description, SafeTensorsWriter.rawFile(header: header, data: data), keyword)
    }

    static func tensor(_ name: String = "t", dtype: String = "\"F32\"", shape: String = "[2]", offsets: String = "[0,8]") -> String {
        #"{"\#(name)":{"dtype":\#(dtype),"shape":\#(shape),"data_offsets":\#(offsets)}}"#
    }

    static let all: [CorruptCase] = {
        let valid = (try? SafeTensorsWriter.encode([("w", [4], [1, 2, 3, 4])])) ?? Data()
        return [
            CorruptCase("empty file", Data(), "truncated"),
            CorruptCase("seven bytes", Data([1, 0, 0, 0, 0, 0, 0]), "truncated"),
            CorruptCase("header longer than the file", SafeTensorsWriter.rawFile(headerLength: 100, header: Array("{}".utf8), data: []), "truncated"),
            CorruptCase("absurd header length", SafeTensorsWriter.rawFile(headerLength: 1 << 40, header: Array("{}".utf8), data: []), "absurd"),
            CorruptCase("valid file truncated by one byte", valid.dropLast(), "out of range"),
            CorruptCase("valid file without its data", valid.prefix(valid.count - 16), "out of range"),
            CorruptCase("empty header", header: "", "not valid JSON"),
            CorruptCase("header not JSON", header: "{\"t\": {", "not valid JSON"),
            CorruptCase("header not UTF-8", SafeTensorsWriter.rawFile(headerLength: 2, header: [0xFF, 0xFE], data: []), "not valid JSON"),
            CorruptCase("header is an array", header: "[1, 2]", "not a JSON object"),
            CorruptCase("entry is a number", header: #"{"t": 5}"#, "not a JSON object"),
            CorruptCase("metadata is a string", header: #"{"__metadata__": "pt"}"#, "__metadata__"),
            CorruptCase("missing dtype", header: #"{"t":{"shape":[2],"data_offsets":[0,8]}}"#, "dtype"),
            CorruptCase("missing shape", header: #"{"t":{"dtype":"F32","data_offsets":[0,8]}}"#, "shape"),
            CorruptCase("missing data_offsets", header: #"{"t":{"dtype":"F32","shape":[2]}}"#, "data_offsets"),
            CorruptCase("unknown dtype", header: tensor(dtype: "\"F12\""), "unknown dtype"),
            CorruptCase("numeric dtype", header: tensor(dtype: "4"), "dtype"),
            CorruptCase("negative dimension", header: tensor(shape: "[-2]"), "shape"),
            CorruptCase("fractional dimension", header: tensor(shape: "[2.5]"), "shape"),
            CorruptCase("one offset", header: tensor(offsets: "[8]"), "two ascending"),
            CorruptCase("three offsets", header: tensor(offsets: "[0,8,16]"), "two ascending"),
            CorruptCase("descending offsets", header: tensor(offsets: "[8,0]"), "two ascending"),
            CorruptCase("negative offset", header: tensor(offsets: "[-8,0]"), "two ascending"),
            CorruptCase("string offsets", header: tensor(offsets: #"["0","8"]"#), "two ascending"),
            CorruptCase("boolean offset", header: tensor(offsets: "[false,8]"), "two ascending"),
            CorruptCase("fractional offset", header: tensor(offsets: "[0,8.5]"), "two ascending"),
            CorruptCase("offsets past the data", header: tensor(offsets: "[12,20]"), "out of range"),
            CorruptCase("huge offsets", header: tensor(offsets: "[0,99999999999999999999]"), "two ascending"),
            CorruptCase("overlapping tensors", header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, "overlap"),
            CorruptCase("same range twice", header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, "overlap"),
            CorruptCase("shape larger than the bytes", header: tensor(shape: "[2,2]"), "size mismatch"),
            CorruptCase("shape smaller than the bytes", header: tensor(shape: "[1]"), "size mismatch"),
            CorruptCase("F16 with F32 byte count", header: tensor(dtype: "\"F16\""), "size mismatch"),
            CorruptCase("overflowing shape", header: tensor(shape: "[4611686018427387904,4611686018427387904]"), "too large"),
        ]
    }()
}

@Suite struct SafeTensorsCorruptionTests {
    @Test(arguments: CorruptCase.all)
    fileprivate func malformedFilesThrowCorruptSafeTensors(_ corrupt: CorruptCase) throws {
        let reason = try reason(opening: corrupt.file)
        #expect(reason != nil, "opened without error")
        #expect(reason?.contains(corrupt.keyword) == true, "reason: \(reason ?? "none")")
    }

    @Test func errorNamesTheFile() throws {
        let scratch = try ScratchDirectory()
        let file = try scratch.file(Data([1, 2, 3]))
        let error = #expect(throws: ModelError.self) {
            _ = try SafeTensors(contentsOf: file)
        }
        guard case .corruptSafeTensors(let path, _)? = error else {
            Issue.record("expected corruptSafeTensors, got \(String(describing: error))")
            return
        }
        #expect(path == file.path)
        #expect(error?.description.contains(file.path) == true)
    }

    @Test func acceptsMetadataPaddingEmptyTensorsAndGaps() throws {
        let header = #"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"e":{"dtype":"F32","shape":[0],"data_offsets":[16,16]}}    "#
        let scratch = try ScratchDirectory()
        let weights = try SafeTensors(contentsOf: try scratch.file(SafeTensorsWriter.rawFile(header: header, data: Array(repeating: 0, count: 20))))
        #expect(weights.tensorNames == ["a", "e"])
        #expect(try weights.floats("e", shape: [0]).count == 0)
        #expect(values(try weights.floats("a", shape: [1])) == [0])
    }
}
