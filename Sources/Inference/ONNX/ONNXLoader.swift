import Foundation
import SwiftProtobuf

/// Reads an ONNX file (protobuf `ModelProto`, optionally with external-data weight files) into an
/// `ONNXGraph`. This is the only file that touches the generated protobuf types.
enum ONNXLoader {
    /// Opsets of the default domain whose ResNet operators the engine implements.
    static let supportedOpsets = 7...21

    /// Loads and converts the model at `path`.
    /// - Throws: `InferenceError` naming the file and, where known, the tensor or node at fault.
    static func load(path: String) throws(InferenceError) -> ONNXGraph {
        let bytes: Data
        do {
            bytes = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw InferenceError(.fileUnreadable, "\(path): cannot read model file (\(describe(error)))")
        }
        return try load(bytes: bytes, path: path)
    }

    /// Converts model bytes; `path` names the file in errors and locates external data.
    static func load(bytes: Data, path: String) throws(InferenceError) -> ONNXGraph {
        if bytes.isEmpty { throw InferenceError(.malformedModel, "\(path): file is empty, not an ONNX model") }
        let model: Onnx_ModelProto
        do {
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = 64
            model = try Onnx_ModelProto(serializedBytes: bytes, options: options)
        } catch {
            throw InferenceError(.malformedModel,
                                 "\(path): not a valid ONNX model (protobuf decoding failed: \(describe(error))); the file may be truncated or of another kind")
        }
        guard model.hasGraph, !model.graph.node.isEmpty else {
            throw InferenceError(.malformedModel, "\(path): not an ONNX model (no graph or no nodes; \(bytes.count) bytes)")
        }
        let opset = model.opsetImport.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }.map { Int($0.version) } ?? 0
        guard supportedOpsets.contains(opset) else {
            throw InferenceError(.unsupported, "\(path): ONNX opset \(opset) is not supported (supported: \(supportedOpsets.lowerBound)–\(supportedOpsets.upperBound))")
        }
        let directory = (path as NSString).deletingLastPathComponent
        var externalFiles: [String: Data] = [:]
        var initializers: [String: ONNXTensor] = [:]
        for proto in model.graph.initializer {
            initializers[proto.name] = try convert(proto, path: path, directory: directory, cache: &externalFiles)
        }
        var nodes: [ONNXNode] = []
        nodes.reserveCapacity(model.graph.node.count)
        for (index, proto) in model.graph.node.enumerated() {
            var attributes: [String: ONNXAttribute] = [:]
            for attribute in proto.attribute {
                attributes[attribute.name] = try convert(attribute, node: proto.name.isEmpty ? "#\(index) (\(proto.opType))" : proto.name,
                                                         path: path, directory: directory, cache: &externalFiles)
            }
            nodes.append(ONNXNode(name: proto.name, opType: proto.opType, domain: proto.domain,
                                  inputs: proto.input, outputs: proto.output, attributes: attributes))
        }
        let inputs = model.graph.input.filter { initializers[$0.name] == nil }.map { info in
            ONNXValueInfo(name: info.name, dims: info.type.tensorType.shape.dim.map { dim -> Int? in
                if case .dimValue(let value)? = dim.value, value > 0 { return Int(value) }
                return nil
            })
        }
        return ONNXGraph(opset: opset, producer: model.producerName, inputs: inputs,
                         outputs: model.graph.output.map(\.name), initializers: initializers, nodes: nodes)
    }

    private static func convert(_ attribute: Onnx_AttributeProto, node: String, path: String, directory: String,
                                cache: inout [String: Data]) throws(InferenceError) -> ONNXAttribute {
        switch attribute.type {
        case .int: return .int(attribute.i)
        case .float: return .float(attribute.f)
        case .ints: return .ints(attribute.ints)
        case .floats: return .floats(attribute.floats)
        case .string: return .string(String(decoding: attribute.s, as: UTF8.self))
        case .tensor: return .tensor(try convert(attribute.t, path: path, directory: directory, cache: &cache))
        default:
            // Older exporters leave `type` unset; infer from which field is filled.
            if !attribute.ints.isEmpty { return .ints(attribute.ints) }
            if attribute.hasI { return .int(attribute.i) }
            if attribute.hasF { return .float(attribute.f) }
            return .unsupported("\(attribute.type)")
        }
    }

    private static func convert(_ proto: Onnx_TensorProto, path: String, directory: String,
                                cache: inout [String: Data]) throws(InferenceError) -> ONNXTensor {
        let shape = proto.dims.map { Int($0) }
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw InferenceError(.invalidGraph, "\(path): tensor '\(proto.name)' has a negative dimension \(shape)")
        }
        let count = shape.reduce(1, *)
        let raw: Data? = proto.dataLocation == .external
            ? try externalBytes(of: proto, path: path, directory: directory, cache: &cache)
            : (proto.hasRawData ? proto.rawData : nil)
        let type = Onnx_TensorProto.DataType(rawValue: Int(proto.dataType)) ?? .undefined
        func mismatch(_ have: Int) -> InferenceError {
            InferenceError(.malformedModel, "\(path): tensor '\(proto.name)' holds \(have) values but its shape \(shape) needs \(count) (truncated or corrupt model)")
        }
        /// The values from `raw` (little-endian, `width` bytes each) when the tensor has raw data,
        /// else from its typed field; either must hold exactly `count` values.
        func values<T>(_ field: [T], width: Int, decode: (Data) -> [T]) throws(InferenceError) -> [T] {
            if let raw {
                guard raw.count == count * width else { throw mismatch(raw.count / width) }
                return decode(raw)
            }
            guard field.count == count else { throw mismatch(field.count) }
            return field
        }
        let elements: ONNXTensor.Elements
        switch type {
        case .float:
            elements = .float(try values(proto.floatData, width: 4) { littleEndian($0, as: Float.self, count: count) })
        case .double:
            elements = .float(try values(proto.doubleData, width: 8) { littleEndian($0, as: Double.self, count: count) }.map { Float($0) })
        case .int64:
            elements = .int64(try values(proto.int64Data, width: 8) { littleEndian($0, as: Int64.self, count: count) })
        case .int32:
            elements = .int64(try values(proto.int32Data, width: 4) { littleEndian($0, as: Int32.self, count: count) }.map { Int64($0) })
        default:
            throw InferenceError(.unsupported, "\(path): tensor '\(proto.name)' has element type \(type), which the engine does not support (float, double, int32, int64)")
        }
        return ONNXTensor(name: proto.name, shape: shape, elements: elements)
    }

    /// Reads the bytes of a tensor stored as ONNX external data (`location`, `offset`, `length`).
    private static func externalBytes(of proto: Onnx_TensorProto, path: String, directory: String,
                                      cache: inout [String: Data]) throws(InferenceError) -> Data {
        var entries: [String: String] = [:]
        for entry in proto.externalData { entries[entry.key] = entry.value }
        guard let location = entries["location"], !location.isEmpty else {
            throw InferenceError(.malformedModel, "\(path): tensor '\(proto.name)' is external but names no 'location'")
        }
        guard !location.hasPrefix("/"), !location.split(separator: "/").contains("..") else {
            throw InferenceError(.malformedModel, "\(path): tensor '\(proto.name)' external location '\(location)' leaves the model's folder")
        }
        let file = directory.isEmpty ? location : directory + "/" + location
        let data: Data
        if let cached = cache[file] {
            data = cached
        } else {
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: file), options: .alwaysMapped)
            } catch {
                throw InferenceError(.fileUnreadable, "\(file): cannot read external data of tensor '\(proto.name)' (\(describe(error)))")
            }
            cache[file] = data
        }
        let offset = Int(entries["offset"] ?? "0") ?? -1
        let length = entries["length"].flatMap { Int($0) } ?? (data.count - max(offset, 0))
        guard offset >= 0, length >= 0, offset + length <= data.count else {
            throw InferenceError(.malformedModel, "\(file): tensor '\(proto.name)' wants bytes \(offset)..<\(offset + length) but the file has \(data.count) (truncated?)")
        }
        return data.subdata(in: data.startIndex + offset ..< data.startIndex + offset + length)
    }

    private static func littleEndian<T: FixedWidthInteger>(_ data: Data, as: T.Type, count: Int) -> [T] {
        var values = [T](repeating: 0, count: count)
        values.withUnsafeMutableBytes { target in _ = data.copyBytes(to: target) }
        return values.map { T(littleEndian: $0) }
    }

    private static func littleEndian(_ data: Data, as: Float.Type, count: Int) -> [Float] {
        littleEndian(data, as: UInt32.self, count: count).map { Float(bitPattern: $0) }
    }

    private static func littleEndian(_ data: Data, as: Double.Type, count: Int) -> [Double] {
        littleEndian(data, as: UInt64.self, count: count).map { Double(bitPattern: $0) }
    }

    private static func describe(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return ns.localizedDescription
    }
}
