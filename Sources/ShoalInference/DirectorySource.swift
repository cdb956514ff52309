import Foundation
import ShoalStore

/// Serves every model folder directly inside a root folder, by folder name; symbolic links are followed.
public struct DirectorySource: ModelSource {
    /// The folder holding one folder per model.
    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    public func models() async throws -> [ModelDescriptor] {
        let names = try FileManager.default.contentsOfDirectory(atPath: root.path)
        return names.sorted().filter { isModelFolder($0) }.map { ModelDescriptor(name: $0) }
    }

    public func describe(_ name: String) async throws -> ModelDescriptor? {
        isModelFolder(name) ? ModelDescriptor(name: name) : nil
    }

    public func locate(_ name: String) async throws -> ModelLocation? {
        guard isModelFolder(name) else { return nil }
        return ModelLocation(folder: root.appendingPathComponent(name).resolvingSymlinksInPath())
    }

    private func isModelFolder(_ name: String) -> Bool {
        guard ModelReference.isValidName(name) else { return false }
        var isDirectory: ObjCBool = false
        // fileExists follows symbolic links, so a linked model folder counts.
        let folder = root.appendingPathComponent(name)
        return FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) && isDirectory.boolValue
            && FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path)
    }
}
