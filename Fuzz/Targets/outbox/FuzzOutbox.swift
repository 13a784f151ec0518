import FuzzHarness

/// libFuzzer entry point for `FuzzHarness.outbox` (built by `make fuzz` with `-sanitize=fuzzer,address`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOutbox(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzHarness.outbox(size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
