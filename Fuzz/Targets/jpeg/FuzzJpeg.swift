import FuzzHarness

/// libFuzzer entry point for `FuzzHarness.jpeg` (built by `make fuzz` with `-sanitize=fuzzer,address`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJpeg(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzHarness.jpeg(size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
