import FuzzHarness

/// libFuzzer entry point for `FuzzHarness.compiled` (built by `make fuzz` with `-sanitize=fuzzer,address`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCompiled(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzHarness.compiled(size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
