import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// The binary tensor data extension on a live server: bodies that are a JSON header followed by raw bytes, and
/// outputs returned the same way; every malformed size is refused with 400 naming it, and the server serves on.
@Suite struct KServeBinaryDataTests {
    let models: TestModels

    init() throws {
        models = try TestModels()
    }

    @Test func binaryInputsAndOutputsMatchTheJSONForm() async throws {
        try await models.withLiveServer { client in
            let texts = ["hello world", "good day, with ünïcode"]
            let json = try await client.post("/v2/models/embed/infer", json: inferBody(texts))
            let expected = try #require((try json.object()["outputs"] as? [[String: Any]])?.first?["data"] as? [Double])

            let header = Self.header(shape: [2], size: Self.bytesElements(texts).count, extra: #","parameters":{"binary_data_output":true}"#)
            let response = try await client.postBinary("/v2/models/embed/infer", json: header, binary: Self.bytesElements(texts))
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.headers[.contentType] == "application/octet-stream")
            let (body, binary) = try Self.split(response)
            let output = try #require((body["outputs"] as? [[String: Any]])?.first)
            #expect(output["data"] == nil)
            #expect(output["shape"] as? [Int] == [2, 32])
            #expect((output["parameters"] as? [String: Any])?["binary_data_size"] as? Int == 2 * 32 * 4)
            #expect(Self.floats(binary) == expected.map { Float($0) })

            // binary_data on a requested output overrides the request's binary_data_output.
            let jsonOutput = Self.header(
                shape: [2], size: Self.bytesElements(texts).count,
                extra: #","parameters":{"binary_data_output":true},"outputs":[{"name":"embedding","parameters":{"binary_data":false}}]"#)
            let plain = try await client.postBinary("/v2/models/embed/infer", json: jsonOutput, binary: Self.bytesElements(texts))
            #expect(plain.status == .ok)
            #expect(plain.headers[.contentType] == "application/json")
            #expect(plain.headers[Self.headerLength] == nil)
            #expect((try plain.object()["outputs"] as? [[String: Any]])?.first?["data"] as? [Double] == expected)
        }
    }

    @Test func binaryLabelsAreLengthPrefixedStrings() async throws {
        try await models.withLiveServer { client in
            let texts = ["good", "bad", "fine"]
            let json = try await client.post("/v2/models/classify/infer", json: inferBody(texts))
            let labels = try #require((try json.object()["outputs"] as? [[String: Any]])?.last?["data"] as? [String])
            // JSON texts in, only the label out as binary data: the header goes with any binary output.
            let body = inferBody(texts, extra: #","outputs":[{"name":"label","parameters":{"binary_data":true}}]"#)
            let response = try await client.post("/v2/models/classify/infer", json: body)
            #expect(response.status == .ok)
            let (header, binary) = try Self.split(response)
            let outputs = try #require(header["outputs"] as? [[String: Any]])
            #expect(outputs.count == 1 && outputs[0]["datatype"] as? String == "BYTES")
            #expect((outputs[0]["parameters"] as? [String: Any])?["binary_data_size"] as? Int == binary.count)
            #expect(binary == Self.bytesElements(labels))
        }
    }

    @Test func malformedBinaryBodiesAreRefusedWithTheProblem() async throws {
        try await models.withLiveServer { client in
            let ab = Self.bytesElements(["a", "b"])
            let cases: [(json: String, binary: [UInt8], length: String?, message: String)] = [
                // The header's length against the body's.
                (Self.header(shape: [2], size: ab.count), ab, "5000", "Inference-Header-Content-Length is 5000, but the body holds only"),
                (Self.header(shape: [2], size: ab.count), ab, "-1", #"must be the byte length of the JSON header, a non-negative integer, not "-1""#),
                (Self.header(shape: [2], size: ab.count), ab, "99999999999999999999", "a non-negative integer, not \"99999999999999999999\""),
                (Self.header(shape: [2], size: ab.count), ab, "12abc", #"not "12abc""#),
                // binary_data_size against the bytes after the header.
                (Self.header(shape: [2], size: ab.count + 1), ab, nil, #""inputs[0]" has binary_data_size 11, but only 10 bytes"#),
                (Self.header(shape: [2], size: ab.count), ab + [0, 0], nil, "holds 12 bytes of binary data after the JSON header, but the inputs' binary_data_size add up to 10"),
                (Self.header(shape: [2], size: ab.count - 1), ab, nil, "element 1 of its binary data has length 1, past the end of its binary_data_size 9"),
                (Self.header(shape: [2], size: Int.max), ab, nil, "has binary_data_size 9223372036854775807, but only 10 bytes"),
                (Self.header(shape: [2], size: "18446744073709551616"), ab, nil, #""inputs[0].parameters.binary_data_size" must be a non-negative integer"#),
                (Self.header(shape: [2], size: "-4"), ab, nil, #""inputs[0].parameters.binary_data_size" must be a non-negative integer, not -4"#),
                (Self.header(shape: [2], size: "1e30"), ab, nil, "must be a non-negative integer, not 1e+30"),
                // Two inputs whose sizes add up past Int.max: the second is refused against what is left.
                (Self.twoInputs(first: ab.count, second: Int.max), ab, nil, #""inputs[1]" has binary_data_size 9223372036854775807, but only 0 bytes"#),
                // BYTES elements against the input's bytes.
                (Self.header(shape: [1], size: 6), [0xFF, 0xFF, 0xFF, 0xFF, 0x61, 0x62], nil, "element 0 of its binary data has length 4294967295, past the end"),
                (Self.header(shape: [2], size: 7), Self.bytesElements(["a"]) + [3, 0], nil, "element 1 of its binary data has 2 bytes left"),
                (Self.header(shape: [1], size: 6), [2, 0, 0, 0, 0xC3, 0x28], nil, "element 0 of its binary data is not valid UTF-8 text"),
                (Self.header(shape: [3], size: ab.count), ab, nil, #""inputs[0].shape" [3] holds 3 elements but the binary data of "inputs[0]" holds 2 strings"#),
                (Self.header(shape: [4294967296, 4294967296], size: ab.count), ab, nil, "holds more than 9223372036854775807 elements"),
                // Fixed-size datatypes: the bytes must be the shape's.
                (Self.header(shape: [3], datatype: "FP32", size: 8), Array(repeating: 0, count: 8), nil, "3 elements of FP32 take 12 bytes, but its binary_data_size is 8"),
                (Self.header(shape: [4294967296, 4294967296], datatype: "INT64", size: 8), Array(repeating: 0, count: 8), nil,
                 "more than 9223372036854775807 elements of INT64 take more than"),
                (Self.header(shape: [2], datatype: "FP32", size: 8), Array(repeating: 0, count: 8), nil, "text models take BYTES"),
                (Self.header(shape: [2], datatype: "COMPLEX", size: 8), Array(repeating: 0, count: 8), nil, "datatype COMPLEX, which binary data cannot carry"),
                // Fields of the extension.
                (#"{"inputs":[{"name":"text","shape":[2],"datatype":"BYTES","data":["a","b"],"parameters":{"binary_data_size":10}}]}"#, ab, nil,
                 #""inputs[0]" has both "data" and "parameters.binary_data_size""#),
                (#"{"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","parameters":{"shared_memory_region":"r"}}]}"#, [], nil,
                 #""inputs[0].parameters.shared_memory_region" belongs to an extension this server does not serve"#),
                (#"{"inputs":[{"name":"text","shape":[1],"datatype":"BYTES"}]}"#, [], nil, #"missing field "inputs[0].data""#),
                (Self.header(shape: [2], size: ab.count, extra: #","parameters":{"binary_data_output":"yes"}"#), ab, nil,
                 #""parameters.binary_data_output" must be true or false"#),
                (Self.header(shape: [2], size: ab.count, extra: #","outputs":[{"name":"embedding","parameters":{"binary_data":1}}]"#), ab, nil,
                 #""outputs[0].parameters.binary_data" must be true or false"#),
                // A header length that cuts the JSON short.
                (Self.header(shape: [2], size: ab.count), ab, "10", "not valid JSON"),
                (Self.header(shape: [2], size: ab.count), ab, "0", "the request needs a JSON body"),
            ]
            for (json, binary, length, message) in cases {
                let response = try await client.postBinary("/v2/models/embed/infer", json: json, binary: binary, headerLength: length)
                #expect(response.status == .badRequest, "\(json) \(length ?? "")")
                let error = try response.errorMessage()
                #expect(error.contains(message), "\(json) \(length ?? ""): \(error)")
            }
            // Still serving, binary data included.
            let good = try await client.postBinary("/v2/models/embed/infer", json: Self.header(shape: [2], size: ab.count), binary: ab)
            #expect(good.status == .ok)
            #expect(try await client.get("/v2/health/live").status == .ok)
        }
    }

    static let headerLength = HTTPField.Name("Inference-Header-Content-Length")!

    /// A request header with one input, "text", of `datatype` sent as `size` bytes of binary data.
    static func header(shape: [Int], datatype: String = "BYTES", size: some CustomStringConvertible, extra: String = "") -> String {
        #"{"inputs":[{"name":"text","shape":\#(shape),"datatype":"\#(datatype)","parameters":{"binary_data_size":\#(size)}}]\#(extra)}"#
    }

    /// A request header with two BYTES inputs of `first` and `second` bytes.
    static func twoInputs(first: Int, second: Int) -> String {
        let input = { (name: String, size: Int) in
            #"{"name":"\#(name)","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":\#(size)}}"#
        }
        return #"{"inputs":[\#(input("text", first)),\#(input("more", second))]}"#
    }

    /// BYTES elements as binary data: each a 4-byte little-endian length followed by its UTF-8.
    static func bytesElements(_ texts: [String]) -> [UInt8] {
        texts.flatMap { text in
            let count = UInt32(text.utf8.count)
            return (0..<4).map { UInt8(truncatingIfNeeded: count >> (8 * $0)) } + Array(text.utf8)
        }
    }

    /// Little-endian floats.
    static func floats(_ bytes: [UInt8]) -> [Float] {
        stride(from: 0, to: bytes.count - 3, by: 4).map { offset in
            Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) })
        }
    }

    /// A binary response's JSON header, parsed, and the bytes after it.
    static func split(_ response: TestResponse) throws -> ([String: Any], [UInt8]) {
        let length = try #require(response.headers[headerLength].flatMap { Int($0) })
        let bytes = Array(response.body.readableBytesView)
        try #require(length <= bytes.count)
        let header = try #require(try JSONSerialization.jsonObject(with: Data(bytes.prefix(length))) as? [String: Any])
        return (header, Array(bytes.dropFirst(length)))
    }
}

extension TestClientProtocol {
    /// POSTs `json` followed by `binary`, with `Inference-Header-Content-Length` of `headerLength`, or the JSON's
    /// byte length when nil.
    func postBinary(_ uri: String, json: String, binary: [UInt8], headerLength: String? = nil) async throws -> TestResponse {
        let headers: HTTPFields = [
            .contentType: "application/octet-stream",
            KServeBinaryDataTests.headerLength: headerLength ?? String(json.utf8.count),
        ]
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: Array(json.utf8) + binary))
    }
}
