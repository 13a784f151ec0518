import Foundation
import SwiftProtobuf

/// Reads an ONNX file (protobuf `ModelProto`, optionally with external-data weight files) into an
/// `ONNXGraph`. This is the only file that touches the generated protobuf types.
enum ONNXLoader {
    /// Opsets of the default domain whose ResNet operators the engine implements.
    static let supportedOpsets = 7...21

    /// Loads and converts the model at `path`. The file is mapped, not read: each initializer's
    /// pages are dropped again once it is converted, so the model's bytes and its converted
    /// weights are never resident in full at the same time.
    /// - Throws: `InferenceError` naming the file and, where known, the tensor or node at fault.
    static func load(path: String) throws(InferenceError) -> ONNXGraph {
        let file: MappedFile
        do {
            file = try MappedFile(path: path)
        } catch where error.code == .malformedModel {
            throw InferenceError(.malformedModel, "\(path): file is empty, not an ONNX model")
        }
        return try load(UnsafeRawBufferPointer(start: file.base, count: file.size), path: path, release: file.release)
    }

    /// Converts model bytes; `path` names the file in errors and locates external data.
    static func load(bytes: Data, path: String) throws(InferenceError) -> ONNXGraph {
        try withBytes(bytes) { (raw) throws(InferenceError) in try load(raw, path: path, release: nil) }
    }

    /// Decodes and converts the model in `bytes`; `release`, when given, is told the bytes of
    /// each initializer once it is converted (the caller may drop those pages).
    private static func load(_ bytes: UnsafeRawBufferPointer, path: String,
                             release: ((UnsafeRawPointer, Int) -> Void)?) throws(InferenceError) -> ONNXGraph {
        if bytes.isEmpty { throw InferenceError(.malformedModel, "\(path): file is empty, not an ONNX model") }
        var options = BinaryDecodingOptions()
        options.messageDepthLimit = 64
        // swift-protobuf copies every bytes field it decodes. Decode the model without its
        // initializers (a few hundred KB) and then each initializer on its own, so at most one
        // tensor's copy exists at a time. Bytes the scan cannot split are decoded whole, as
        // before (swift-protobuf then reports what is wrong with them).
        let split = splitInitializers(bytes)
        let model: Onnx_ModelProto
        do {
            if let split {
                model = try Onnx_ModelProto(serializedBytes: split.model, options: options)
            } else {
                model = try Onnx_ModelProto(serializedBytes: Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: bytes.baseAddress!),
                                                                  count: bytes.count, deallocator: .none), options: options)
            }
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
        var externalFiles: [String: MappedFile] = [:]
        var initializers: [String: ONNXTensor] = [:]
        for range in split?.initializers ?? [] {
            guard let fields = ProtobufWire.fields(of: bytes, in: range) else {
                throw InferenceError(.malformedModel, "\(path): initializer at byte \(range.lowerBound) is not a valid tensor (truncated or corrupt model)")
            }
            // raw_data (field 9; the last one counts) is read in place, the rest decoded.
            let raw = fields.last { $0.number == 9 && $0.wireType == 2 }?.payload
            var rest: [UInt8] = []
            for field in fields where !(field.number == 9 && field.wireType == 2) {
                rest.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[field.range]))
            }
            let proto: Onnx_TensorProto
            do {
                proto = try Onnx_TensorProto(serializedBytes: rest, options: options)
            } catch {
                throw InferenceError(.malformedModel, "\(path): initializer at byte \(range.lowerBound) is not a valid tensor (protobuf decoding failed: \(describe(error)))")
            }
            initializers[proto.name] = try convert(proto, inlineRaw: raw.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) },
                                                   path: path, directory: directory, cache: &externalFiles)
            release?(bytes.baseAddress! + range.lowerBound, range.count)
        }
        for proto in model.graph.initializer {
            initializers[proto.name] = try convert(proto, inlineRaw: nil, path: path, directory: directory, cache: &externalFiles)
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

    /// The model in `bytes` re-encoded without its graph's initializers (ModelProto field 7,
    /// the graph; GraphProto field 5, an initializer), and the byte ranges of those
    /// initializers in order; nil when the bytes are not well-formed protobuf.
    private static func splitInitializers(_ bytes: UnsafeRawBufferPointer) -> (model: [UInt8], initializers: [Range<Int>])? {
        guard let fields = ProtobufWire.fields(of: bytes, in: 0..<bytes.count) else { return nil }
        var model: [UInt8] = []
        var initializers: [Range<Int>] = []
        for field in fields {
            guard field.number == 7, field.wireType == 2 else {
                model.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[field.range]))
                continue
            }
            guard let graphFields = ProtobufWire.fields(of: bytes, in: field.payload) else { return nil }
            var kept: [UnsafeRawBufferPointer] = []
            for graphField in graphFields {
                if graphField.number == 5, graphField.wireType == 2 {
                    initializers.append(graphField.payload)
                } else {
                    kept.append(UnsafeRawBufferPointer(rebasing: bytes[graphField.range]))
                }
            }
            ProtobufWire.appendMessage(number: 7, pieces: kept, to: &model)
        }
        return (model, initializers)
    }

    private static func convert(_ attribute: Onnx_AttributeProto, node: String, path: String, directory: String,
                                cache: inout [String: MappedFile]) throws(InferenceError) -> ONNXAttribute {
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

    /// Converts one tensor. Its raw bytes come from `inlineRaw` (raw_data found in place by the
    /// loader), its external-data file (mapped; the tensor's pages are dropped once converted),
    /// its decoded raw_data, or else its typed field.
    private static func convert(_ proto: Onnx_TensorProto, inlineRaw: UnsafeRawBufferPointer? = nil, path: String, directory: String,
                                cache: inout [String: MappedFile]) throws(InferenceError) -> ONNXTensor {
        if proto.dataLocation == .external {
            let (file, range) = try externalBytes(of: proto, path: path, directory: directory, cache: &cache)
            let tensor = try convert(proto, raw: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(start: file.base, count: file.size)[range]), path: path)
            file.release(file.base + range.lowerBound, range.count)
            return tensor
        }
        if let inlineRaw { return try convert(proto, raw: inlineRaw, path: path) }
        if proto.hasRawData { return try withBytes(proto.rawData) { (raw) throws(InferenceError) in try convert(proto, raw: raw, path: path) } }
        return try convert(proto, raw: nil, path: path)
    }

    private static func convert(_ proto: Onnx_TensorProto, raw: UnsafeRawBufferPointer?, path: String) throws(InferenceError) -> ONNXTensor {
        let shape = proto.dims.map { Int($0) }
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw InferenceError(.invalidGraph, "\(path): tensor '\(proto.name)' has a negative dimension \(shape)")
        }
        let (count, overflow) = shape.reduce((1, false)) { partial, dim in
            let (product, o) = partial.0.multipliedReportingOverflow(by: dim)
            return (product, partial.1 || o)
        }
        let type = Onnx_TensorProto.DataType(rawValue: Int(proto.dataType)) ?? .undefined
        func mismatch(_ have: Int) -> InferenceError {
            InferenceError(.malformedModel, "\(path): tensor '\(proto.name)' holds \(have) values but its shape \(shape) needs \(overflow ? "more than Int.max" : "\(count)") (truncated or corrupt model)")
        }
        /// The values from `raw` (little-endian, `width` bytes each) when the tensor has raw data,
        /// else from its typed field; either must hold exactly `count` values.
        func values<T>(_ field: [T], width: Int, decode: (UnsafeRawBufferPointer) -> [T]) throws(InferenceError) -> [T] {
            if let raw {
                guard !overflow, raw.count / width == count, raw.count % width == 0 else { throw mismatch(raw.count / width) }
                return decode(raw)
            }
            guard !overflow, field.count == count else { throw mismatch(field.count) }
            return field
        }
        let elements: ONNXTensor.Elements
        switch type {
        case .float:
            elements = .float(try values(proto.floatData, width: 4) { littleEndianFloats($0, count: count) })
        case .double:
            elements = .float(try values(proto.doubleData, width: 8) { littleEndian($0, as: UInt64.self, count: count).map { Double(bitPattern: $0) } }
                .map { Float($0) })
        case .int64:
            elements = .int64(try values(proto.int64Data, width: 8) { littleEndian($0, as: Int64.self, count: count) })
        case .int32:
            elements = .int64(try values(proto.int32Data, width: 4) { littleEndian($0, as: Int32.self, count: count) }.map { Int64($0) })
        default:
            throw InferenceError(.unsupported, "\(path): tensor '\(proto.name)' has element type \(type), which the engine does not support (float, double, int32, int64)")
        }
        return ONNXTensor(name: proto.name, shape: shape, elements: elements)
    }

    /// The mapped file and byte range of a tensor stored as ONNX external data (`location`,
    /// `offset`, `length`).
    private static func externalBytes(of proto: Onnx_TensorProto, path: String, directory: String,
                                      cache: inout [String: MappedFile]) throws(InferenceError) -> (MappedFile, Range<Int>) {
        var entries: [String: String] = [:]
        for entry in proto.externalData { entries[entry.key] = entry.value }
        guard let location = entries["location"], !location.isEmpty else {
            throw InferenceError(.malformedModel, "\(path): tensor '\(proto.name)' is external but names no 'location'")
        }
        guard !location.hasPrefix("/"), !location.split(separator: "/").contains("..") else {
            throw InferenceError(.malformedModel, "\(path): tensor '\(proto.name)' external location '\(location)' leaves the model's folder")
        }
        let file = directory.isEmpty ? location : directory + "/" + location
        let data: MappedFile
        if let cached = cache[file] {
            data = cached
        } else {
            do {
                data = try MappedFile(path: file)
            } catch {
                throw InferenceError(.fileUnreadable, "\(file): cannot read external data of tensor '\(proto.name)' (\(error.message))")
            }
            cache[file] = data
        }
        let offset = Int(entries["offset"] ?? "0") ?? -1
        let length = entries["length"].flatMap { Int($0) } ?? (data.size - max(offset, 0))
        guard offset >= 0, length >= 0, offset <= data.size, length <= data.size - offset else {
            throw InferenceError(.malformedModel, "\(file): tensor '\(proto.name)' wants bytes \(offset)..<\(offset &+ length) but the file has \(data.size) (truncated?)")
        }
        return (data, offset..<offset + length)
    }

    private static func littleEndian<T: FixedWidthInteger>(_ raw: UnsafeRawBufferPointer, as: T.Type, count: Int) -> [T] {
        [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count { buffer[i] = T(littleEndian: raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)) }
            initialized = count
        }
    }

    private static func littleEndianFloats(_ raw: UnsafeRawBufferPointer, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count { buffer[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            initialized = count
        }
    }

    /// Runs `body` on the bytes of `data` (Data's own `withUnsafeBytes` only rethrows untyped).
    private static func withBytes<R>(_ data: Data, _ body: (UnsafeRawBufferPointer) throws(InferenceError) -> R) throws(InferenceError) -> R {
        let result: Result<R, InferenceError> = data.withUnsafeBytes { raw in Result { () throws(InferenceError) in try body(raw) } }
        return try result.get()
    }

    private static func describe(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return ns.localizedDescription
    }
}
