import Foundation
@testable import ShoalStore
import Testing

@Suite("SigV4 signing")
struct SigV4SignerTests {
    /// The GET Object example of the Amazon S3 documentation ("Signature Calculations for the Authorization
    /// Header: Transferring Payload in a Single Chunk").
    @Test("matches the documented S3 GET example")
    func documentedExample() throws {
        let signer = SigV4Signer(region: "us-east-1")
        let credentials = AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        let date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
        let headers = signer.sign(
            method: "GET", path: "/test.txt", query: [],
            headers: [("host", "examplebucket.s3.amazonaws.com"), ("range", "bytes=0-9")],
            payloadHash: SigV4Signer.emptyPayloadHash, credentials: credentials, date: date)
        let authorization = try #require(headers.first { $0.0 == "Authorization" }?.1)
        #expect(authorization == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test("query parameters are encoded and sorted")
    func canonicalQuery() {
        #expect(SigV4Signer.canonicalQuery([("prefix", "models/a b"), ("list-type", "2"), ("uploads", "")])
                == "list-type=2&prefix=models%2Fa%20b&uploads=")
        #expect(SigV4Signer.encode("models/x~y/1_Pooling/config.json", slash: false) == "models/x~y/1_Pooling/config.json")
    }
}
