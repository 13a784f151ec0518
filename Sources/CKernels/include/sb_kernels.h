// SmartBin numeric kernels for the fp32 engine.
//
// Layout conventions: activations are planar NCHW for a single image (batch 1), so a
// tensor of C channels and H x W pixels is C consecutive planes of H*W floats. Every
// fast kernel here has a plain reference twin (`*_ref`, in sb_reference.c) that the
// tests compare it with on seeded random shapes.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Geometry of a 2-D window operation (convolution or pooling) on one image.
typedef struct sb_window {
    int32_t channels;        // input channels
    int32_t in_h, in_w;      // input plane size
    int32_t k_h, k_w;        // window size
    int32_t stride_h, stride_w;
    int32_t pad_top, pad_left, pad_bottom, pad_right;
    int32_t out_h, out_w;    // output plane size (the caller computes it)
} sb_window;

/// Unfolds `src` [channels, in_h, in_w] into columns `dst` [channels*k_h*k_w, out_h*out_w]
/// (row index c*k_h*k_w + ky*k_w + kx), zero outside the padded border. This is the B
/// operand of the convolution GEMM whose A operand is the weight [Cout, Cin*k_h*k_w].
void sb_im2col(const float *src, float *dst, const sb_window *g);
/// Rows [row0, row1) of sb_im2col's output (each row at its place in `dst`).
void sb_im2col_rows(const float *src, float *dst, const sb_window *g, int32_t row0, int32_t row1);
void sb_im2col_ref(const float *src, float *dst, const sb_window *g);

/// Max pooling over each plane; padded positions are ignored (never win), as ONNX MaxPool.
void sb_maxpool(const float *src, float *dst, const sb_window *g);
void sb_maxpool_ref(const float *src, float *dst, const sb_window *g);

/// Average pooling; `count_include_pad` as the ONNX attribute of the same name.
void sb_avgpool(const float *src, float *dst, const sb_window *g, int32_t count_include_pad);
void sb_avgpool_ref(const float *src, float *dst, const sb_window *g, int32_t count_include_pad);

/// Mean of each of `channels` planes of `plane` floats: dst[c] = mean(src[c*plane ...]).
void sb_global_avgpool(const float *src, float *dst, int32_t channels, int32_t plane);
void sb_global_avgpool_ref(const float *src, float *dst, int32_t channels, int32_t plane);

/// The convolution epilogue, in place on `data` [channels, plane]:
/// data = act(data * scale[c] + bias[c] + residual), where `scale`, `bias` and `residual`
/// may each be NULL (meaning 1, 0 and 0) and act is max(0, x) when `relu` is non-zero.
void sb_epilogue(float *data, const float *scale, const float *bias, const float *residual,
                 int32_t channels, int32_t plane, int32_t relu);
void sb_epilogue_ref(float *data, const float *scale, const float *bias, const float *residual,
                     int32_t channels, int32_t plane, int32_t relu);

/// Copies `src` [channels, in_h, in_w] into `dst` [channels, in_h+top+bottom, in_w+left+right],
/// filling the border with `value`.
void sb_pad(const float *src, float *dst, int32_t channels, int32_t in_h, int32_t in_w,
            int32_t top, int32_t left, int32_t bottom, int32_t right, float value);
void sb_pad_ref(const float *src, float *dst, int32_t channels, int32_t in_h, int32_t in_w,
                int32_t top, int32_t left, int32_t bottom, int32_t right, float value);

/// Element-wise dst = act(a + b) over `count` floats.
void sb_add(const float *a, const float *b, float *dst, size_t count, int32_t relu);

/// Numerically stable softmax of `count` floats, in place.
void sb_softmax(float *data, int32_t count);

/// CPU features the dispatchers and the BLAS core check use (x86-64; zero elsewhere).
typedef struct sb_cpu_features {
    int32_t avx2, fma, avx512f, avx512bw, avx512vl, avx512dq, avx512vnni, avxvnni;
} sb_cpu_features;
sb_cpu_features sb_cpu_detect(void);

#ifdef __cplusplus
}
#endif
