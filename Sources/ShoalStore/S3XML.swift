import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The text of elements in an S3 XML answer, by path (`ListBucketResult/Contents/Key`), in document order.
enum S3XML {
    static func values(in data: Data) -> [String: [String]] {
        let collector = Collector()
        let parser = XMLParser(data: data)
        parser.delegate = collector
        _ = parser.parse()
        return collector.values
    }

    private final class Collector: NSObject, XMLParserDelegate {
        var values: [String: [String]] = [:]
        private var path: [String] = []
        private var text = ""

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                    qualifiedName: String?, attributes: [String: String] = [:]) {
            path.append(name)
            text = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            text += string
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            values[path.joined(separator: "/"), default: []].append(text)
            text = ""
            path.removeLast()
        }
    }
}
