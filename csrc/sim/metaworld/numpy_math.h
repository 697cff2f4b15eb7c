// numpy's float64 exp, log, sin and cos for single elements, reproduced bit for bit in portable
// scalar C++17 (no intrinsics, no dependence on -march).
//
// What numpy 2.4.6 (x86-64 wheel, built with SVML) computes on a CPU where its X86_V4 dispatch
// target (AVX512F + AVX512_SKX) is selected -- checked by disassembling the installed
// _multiarray_umath .so and by tools/check_numpy_math.py:
//
//   np.exp  numpy/_core/src/umath/loops_exponent_log.dispatch.c.src, DOUBLE_exp (X86_V4): with
//           NPY_HAVE_AVX512_SKX && NPY_CAN_LINK_SVML it calls simd_exp_f64 -> __svml_exp8_ha, the
//           "high accuracy" AVX-512 exp of Intel's SVML (numpy/SVML submodule,
//           linux/avx512/svml_z0_exp_d_ha.s), whose lanes with |x| >= 707.70327 go to the scalar
//           __svml_dexp_ha_cout_rare_internal. numpy's own Tang algorithm AVX512F_exp_DOUBLE in the
//           same file is compiled out when SVML is linked, as on these wheels. glibc exp is used
//           only when input and output memory partially overlap.
//   np.log  same file, DOUBLE_log (X86_V4) -> simd_log_f64 -> __svml_log8_ha
//           (svml_z0_log_d_ha.s); NaN, +-0, +-inf and negative lanes go to
//           __svml_dlog_ha_cout_rare_internal. (numpy's AVX512F_log_DOUBLE, which calls glibc near
//           1, is compiled out.)
//   np.sin, np.cos  numpy/_core/src/umath/loops_trigonometric.dispatch.cpp, DOUBLE_sin/DOUBLE_cos:
//           the SIMD float64 code is disabled ("revert to libm"), every element is npy_sin/npy_cos,
//           i.e. the C library's sin/cos. np_sin/np_cos therefore simply call std::sin/std::cos
//           and equal numpy wherever both use the same libm (same glibc, same CPU: glibc picks its
//           sin/cos variant per CPU, e.g. __sin_fma).
//
// Scalars, 0-d arrays and 1-element arrays take the same loop as long arrays (a partial SIMD
// load of one lane), so np_exp/np_log match np.exp/np.log on any of them.
//
// The port: every vector FMA (vfmadd/vfnmadd/vfmsub, rounded to nearest) is std::fma, which is
// correctly rounded and so identical; every vmulpd/vaddpd/vsubpd and every scalar mulsd/addsd of
// the rare-case routines is a plain double operation in the same order. The code must be compiled
// with -ffp-contract=off (so that no a*b+c is contracted when FMA is enabled) and with SSE2
// double arithmetic (FLT_EVAL_METHOD == 0; x87 excess precision would break it), and never with
// -ffast-math. Three AVX-512 operations have no plain C equivalent and are emulated exactly:
//   * exp's first FMA rounds toward zero ({rz-sae}); it is rebuilt from an exact product split.
//   * log's vrcp14pd (then rounded to 1/32) depends only on the top 16 mantissa bits of the
//     mantissa in [1,2) (Intel's published RCP14 reference algorithm, which this AMD EPYC's
//     vrcp14pd matches on all 2^16 inputs); the 16 switching points of round(rcp14(m)*32) are
//     tabulated below.
//   * vgetexppd/vgetmantpd are an exact frexp; vscalefpd is a multiplication by 2^floor(n)
//     (exact here: its results are normal).
// Even NaN payloads come out as numpy's.
//
// Results equal numpy's only where numpy dispatches to that target. On CPUs without
// AVX512F/AVX512_SKX (numpy's X86_V3 and baseline loops) and in numpy builds without SVML
// (Windows, macOS, musl, ...), numpy's float64 exp/log are the C library's exp/log, which differ
// from these functions by one ulp for a few percent of exp arguments (about 0.1% for log).
// Verified by tools/check_numpy_math.py (numpy 2.4.6, AMD EPYC with AVX-512, glibc): 0
// mismatches for all four functions on ~2.3-2.9 million arguments each.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD != 0
#error "numpy_math.h needs double arithmetic without excess precision (SSE2, FLT_EVAL_METHOD 0)"
#endif
#if defined(__FAST_MATH__)
#error "numpy_math.h must not be compiled with -ffast-math"
#endif

namespace metarl::npm {

namespace detail {

inline double from_bits(std::uint64_t u) {
  double d;
  std::memcpy(&d, &u, sizeof d);
  return d;
}
inline std::uint64_t to_bits(double d) {
  std::uint64_t u;
  std::memcpy(&u, &d, sizeof u);
  return u;
}
// 2^e for -1022 <= e <= 1023 (a normal double built from its exponent field)
inline double pow2i(int e) { return from_bits(static_cast<std::uint64_t>(e + 1023) << 52); }

// ---- exp: __svml_exp8_ha (__svml_dexp_ha_data_internal_avx512) ------------------------------

// 2^(j/16), j = 0..15 (Th) and the low parts (Tlr) such that Th*(1+Tlr) ~ 2^(j/16)
inline constexpr double kExpTh[16] = {
    0x1.0000000000000p+0, 0x1.0b5586cf9890fp+0, 0x1.172b83c7d517bp+0, 0x1.2387a6e756238p+0,
    0x1.306fe0a31b715p+0, 0x1.3dea64c123422p+0, 0x1.4bfdad5362a27p+0, 0x1.5ab07dd485429p+0,
    0x1.6a09e667f3bcdp+0, 0x1.7a11473eb0187p+0, 0x1.8ace5422aa0dbp+0, 0x1.9c49182a3f090p+0,
    0x1.ae89f995ad3adp+0, 0x1.c199bdd85529cp+0, 0x1.d5818dcfba487p+0, 0x1.ea4afa2a490dap+0,
};
inline constexpr double kExpTlr[16] = {
    0x0.0p+0,               0x1.79aa65d837b6dp-54,  -0x1.01b15eaa59348p-55, 0x1.68efde3a8a894p-54,
    0x1.34d754db0abb6p-55,  0x1.59f48a72a4c6dp-55,  0x1.690cebb7aafb0p-56,  0x1.063e1e21c5409p-54,
    -0x1.3b3efbf5e2228p-54, -0x1.b32dcb94da51dp-56, 0x1.db72fc1f0eab4p-55,  0x1.1affc2b91ce27p-56,
    0x1.c1a7792cb3387p-55,  0x1.36eae30af0cb3p-56,  0x1.4a385a63d07a7p-56,  -0x1.ff7128fd391f0p-55,
};
inline constexpr double kExpLog2e = 0x1.71547652b82fep+0;     // log2(e)
inline constexpr double kExpShifter = 0x1.8000000003ff0p+48;  // 1.5*2^48 + 1023, ulp 2^-4
inline constexpr double kExpLn2Hi = 0x1.62e42fefa39efp-1;
inline constexpr double kExpLn2Lo = 0x1.abc9e3b39803fp-56;
inline constexpr std::uint64_t kExpRMask = 0xbfffffffffffffffull;  // "ensure |R| < 2"
inline constexpr double kExpC6 = 0x1.7411836940c04p-10;
inline constexpr double kExpC5 = 0x1.1101cbbc265c0p-7;
inline constexpr double kExpC4 = 0x1.55557242d68fep-5;
inline constexpr double kExpC3 = 0x1.5555553939732p-3;
inline constexpr double kExpC2 = 0x1.000000000d008p-1;
inline constexpr double kExpC1 = 0x1.fffffffffff70p-1;
inline constexpr double kExpCalloutThreshold = 0x1.61da04cbafe44p+9;  // 707.70327...: |x| >= it

// ---- exp rare cases: __svml_dexp_ha_cout_rare_internal (_imldExpHATab) ----------------------

// {2^(j/64) high, low part}, j = 0..63
inline constexpr double kExpRareTab[128] = {
    0x1.0000000000000p+0, 0x0.0p+0,               0x1.02c9a3e778061p+0, -0x1.160139cd8dc5dp-56,
    0x1.059b0d3158574p+0, 0x1.cd2523567f613p-55,  0x1.0874518759bc8p+0, 0x1.0f74e61e6c861p-57,
    0x1.0b5586cf9890fp+0, 0x1.79aa65d837b6dp-54,  0x1.0e3ec32d3d1a2p+0, 0x1.ebe3d702f9cd1p-60,
    0x1.11301d0125b51p+0, -0x1.556522a2fbd0ep-54, 0x1.1429aaea92de0p+0, -0x1.1c923b9d5f416p-54,
    0x1.172b83c7d517bp+0, -0x1.01b15eaa59348p-55, 0x1.1a35beb6fcb75p+0, 0x1.b898c3f1353bfp-55,
    0x1.1d4873168b9aap+0, 0x1.aecf73e3a2f60p-54,  0x1.2063b88628cd6p+0, 0x1.a6f4144a6c38dp-55,
    0x1.2387a6e756238p+0, 0x1.68efde3a8a894p-54,  0x1.26b4565e27cddp+0, 0x1.0472b981fe7f2p-55,
    0x1.29e9df51fdee1p+0, 0x1.2f7e16d09ab31p-55,  0x1.2d285a6e4030bp+0, 0x1.b3782720c0ab4p-55,
    0x1.306fe0a31b715p+0, 0x1.34d754db0abb6p-55,  0x1.33c08b26416ffp+0, 0x1.fdd395dd3f84ap-55,
    0x1.371a7373aa9cbp+0, -0x1.24aedcc4b5068p-54, 0x1.3a7db34e59ff7p+0, -0x1.1d1e83e9436d2p-56,
    0x1.3dea64c123422p+0, 0x1.59f48a72a4c6dp-55,  0x1.4160a21f72e2ap+0, -0x1.8a78f4817895bp-58,
    0x1.44e086061892dp+0, 0x1.363ed60c2ac11p-59,  0x1.486a2b5c13cd0p+0, 0x1.ecce1daa10379p-57,
    0x1.4bfdad5362a27p+0, 0x1.690cebb7aafb0p-56,  0x1.4f9b2769d2ca7p+0, -0x1.f94340071a38ep-55,
    0x1.5342b569d4f82p+0, -0x1.8dec6bd0f385fp-56, 0x1.56f4736b527dap+0, 0x1.3350518fdd78ep-54,
    0x1.5ab07dd485429p+0, 0x1.063e1e21c5409p-54,  0x1.5e76f15ad2148p+0, 0x1.432e62b64c035p-54,
    0x1.6247eb03a5585p+0, -0x1.c33c53bef4da8p-55, 0x1.6623882552225p+0, -0x1.3cedd78565858p-54,
    0x1.6a09e667f3bcdp+0, -0x1.3b3efbf5e2228p-54, 0x1.6dfb23c651a2fp+0, -0x1.367efb86da9eep-57,
    0x1.71f75e8ec5f74p+0, -0x1.81f647e5a3ecfp-56, 0x1.75feb564267c9p+0, -0x1.619321e55e68ap-55,
    0x1.7a11473eb0187p+0, -0x1.b32dcb94da51dp-56, 0x1.7e2f336cf4e62p+0, 0x1.5ebe1abd66c55p-57,
    0x1.82589994cce13p+0, -0x1.369b6f13b3734p-54, 0x1.868d99b4492edp+0, -0x1.4d450d872576ep-54,
    0x1.8ace5422aa0dbp+0, 0x1.db72fc1f0eab4p-55,  0x1.8f1ae99157736p+0, 0x1.bf68359f35f44p-56,
    0x1.93737b0cdc5e5p+0, -0x1.da9b88b6c1e29p-58, 0x1.97d829fde4e50p+0, -0x1.2434322f4f9aap-54,
    0x1.9c49182a3f090p+0, 0x1.1affc2b91ce27p-56,  0x1.a0c667b5de565p+0, -0x1.7c50422622263p-55,
    0x1.a5503b23e255dp+0, -0x1.1bbd1d3bcbb15p-54, 0x1.a9e6b5579fdbfp+0, 0x1.469846e735ab3p-55,
    0x1.ae89f995ad3adp+0, 0x1.c1a7792cb3387p-55,  0x1.b33a2b84f15fbp+0, -0x1.5c3d956dcaebap-58,
    0x1.b7f76f2fb5e47p+0, -0x1.8d6f438ad9334p-57, 0x1.bcc1e904bc1d2p+0, 0x1.4ffd70a5fddcdp-56,
    0x1.c199bdd85529cp+0, 0x1.36eae30af0cb3p-56,  0x1.c67f12e57d14bp+0, 0x1.4e08fd10959acp-55,
    0x1.cb720dcef9069p+0, 0x1.76b2c6c921968p-57,  0x1.d072d4a07897cp+0, -0x1.fad5d3ffffa6fp-55,
    0x1.d5818dcfba487p+0, 0x1.4a385a63d07a7p-56,  0x1.da9e603db3285p+0, 0x1.e5a50d5c192acp-55,
    0x1.dfc97337b9b5fp+0, -0x1.2d52107b43e1fp-55, 0x1.e502ee78b3ff6p+0, 0x1.4b604603a88d3p-56,
    0x1.ea4afa2a490dap+0, -0x1.ff7128fd391f0p-55, 0x1.efa1bee615a27p+0, 0x1.ec3bc41aa2008p-55,
    0x1.f50765b6e4540p+0, 0x1.a64a931d185eep-55,  0x1.fa7c1819e90d8p+0, 0x1.7893b4d91cd9dp-56,
};
inline constexpr double kExpR64OverLn2 = 0x1.71547652b82fep+6;  // 64/ln2
inline constexpr double kExpRShifter = 0x1.8p+52;
inline constexpr double kExpRC1 = 0x1.0000000000000p-1;
inline constexpr double kExpRC2 = 0x1.55555555548f8p-3;
inline constexpr double kExpRC3 = 0x1.5555555558fccp-5;
inline constexpr double kExpRC4 = 0x1.111123aaf20d3p-7;
inline constexpr double kExpRC5 = 0x1.6c16a1c2a3ffdp-10;
inline constexpr double kExpROverflow = 0x1.62e42fefa39efp+9;    // x above: overflow
inline constexpr double kExpRSubnormal = -0x1.6232bdd7abcd2p+9;  // x below: subnormal result
inline constexpr double kExpRUnderflow = -0x1.74910d52d3051p+9;  // x below: underflow to 0
inline constexpr double kExpRLn2By64Hi = 0x1.62e42fefa0000p-7;
inline constexpr double kExpRLn2By64Lo = 0x1.cf79abc9e3b3ap-46;
inline constexpr double kExpRTwoM60 = 0x1p-60;
inline constexpr double kExpRSplit = 0x1.8p+32;

// The scalar rare-case routine, for |x| >= kExpCalloutThreshold (and inf; never NaN here).
inline double exp_rare(double x) {
  const std::uint64_t ux = to_bits(x);
  const unsigned biased = static_cast<unsigned>(ux >> 52) & 0x7ffu;
  if (biased == 0x7ffu) {
    if ((ux >> 63) != 0 && (ux & 0x000fffffffffffffull) == 0) return 0.0;  // exp(-inf)
    return x * x;                                                          // +inf, NaN
  }
  if (biased <= 970u) return 1.0 + x;  // |x| < 2^-52 (unreachable from np_exp)
  if (kExpROverflow < x) return HUGE_VAL;  // the routine returns DBL_MAX^2 = +inf
  if (x < kExpRUnderflow) return 0.0;      // the routine returns (~2^-1022)^2 = +0

  const double t = kExpR64OverLn2 * x + kExpRShifter;  // round(x*64/ln2) in the low bits
  std::uint32_t n32 = static_cast<std::uint32_t>(to_bits(t));
  const unsigned j = n32 & 63u;
  const double n = t - kExpRShifter;
  double r = x - n * kExpRLn2By64Hi;
  r = r - n * kExpRLn2By64Lo;
  double p = kExpRC5 * r;
  n32 >>= 6;  // logical shift of the 32-bit two's complement integer, as shrl
  p = p + kExpRC4;
  p = p * r;
  const double th = kExpRareTab[2 * j];
  p = p + kExpRC3;
  p = p * r;
  p = p + kExpRC2;
  p = p * r;
  p = p + kExpRC1;
  p = p * r;
  p = p * r;
  p = p + r;
  p = p + kExpRareTab[2 * j + 1];
  p = p * th;
  if (!(x < kExpRSubnormal)) {
    std::uint32_t e = (n32 + 1023u) & 2047u;
    p = p + th;
    if (e > 2046u) {  // 2^1024 * ...: scale by 2^1023, then by 2
      e = (e - 1u) & 2047u;
      return p * from_bits(static_cast<std::uint64_t>(e) << 52) * 2.0;
    }
    return p * from_bits(static_cast<std::uint64_t>(e) << 52);
  }
  // subnormal result: scale by 2^(m+60), add, then by 2^-60 (double-double when m+1083 > 50)
  const std::uint32_t e = (n32 + 1083u) & 2047u;
  const double scale = from_bits(static_cast<std::uint64_t>(e) << 52);
  const double lo = p * scale;
  const double hi = scale * th;
  const double s = hi + lo;
  if (e <= 50u) return s * kExpRTwoM60;
  double b = hi - s;
  b = b + lo;
  const double c = s * kExpRSplit;
  const double d = s + c;
  double sh = d - c;
  double sl = s - sh;
  sl = b + sl;
  sh = sh * kExpRTwoM60;
  sl = sl * kExpRTwoM60;
  return sh + sl;
}

// ---- log: __svml_log8_ha (__svml_dlog_ha_data_internal_avx512) ------------------------------

// -log(rcp) split in high (Th) and low (Tl) parts, indexed by the top 4 mantissa bits of
// rcp = k/32 (k = 16..31; k = 32 uses index 0); entries 0..7 are -log(2*rcp) (the exponent is
// then incremented by 1).
inline constexpr double kLogTh[16] = {
    0x0.0p+0,               -0x1.f0a30c0120000p-5,  -0x1.e27076e2b0000p-4, -0x1.5ff3070a78000p-3,
    -0x1.c8ff7c79a8000p-3,  -0x1.1675cababc000p-2,  -0x1.4618bc21c4000p-2, -0x1.739d7f6bbc000p-2,
    0x1.269621134c000p-2,   0x1.f991c6cb38000p-3,   0x1.a93ed3c8b0000p-3,  0x1.5bf406b540000p-3,
    0x1.1178e82280000p-3,   0x1.9335e5d590000p-4,   0x1.08598b59e0000p-4,  0x1.0415d89e80000p-5,
};
inline constexpr double kLogTl[16] = {
    0x0.0p+0,               0x1.3ab33d066d1d2p-42,  0x1.a342c2af0003cp-45,  -0x1.3d3c873e20a07p-43,
    -0x1.a21ac25d81ef3p-43, 0x1.9f1fc63382a8fp-42,  -0x1.ec27d0b7b37b3p-42, -0x1.0069ce24c53fbp-42,
    0x1.b92783beb7677p-42,  0x1.9bcbecca0cdf3p-42,  -0x1.30e486a0ac42dp-42, 0x1.ed8fdc149767ep-42,
    -0x1.b8421cc74be04p-43, 0x1.2622b8757a8fbp-42,  0x1.d034451fecdfbp-43,  -0x1.77771fd187145p-42,
};
inline constexpr double kLogP9 = 0x1.c81cd309d7c70p-4;  // polynomial in R for log(1+R)
inline constexpr double kLogP8 = -0x1.007357e93af62p-3;
inline constexpr double kLogP7 = 0x1.249229cee81efp-3;
inline constexpr double kLogP6 = -0x1.55553fb28db06p-3;
inline constexpr double kLogP5 = 0x1.9999999cc9f5cp-3;
inline constexpr double kLogP4 = -0x1.00000000c05bdp-2;
inline constexpr double kLogP3 = 0x1.5555555555466p-2;
inline constexpr double kLogP2 = -0x1.fffffffffffc6p-2;
inline constexpr double kLogLn2Hi = 0x1.62e42fefa0000p-1;
inline constexpr double kLogLn2Lo = 0x1.cf79abc9e0000p-40;

// round(vrcp14pd(m) * 32) for m in [1,2) is 32 - #{i : top16(m) >= kLogRcpSwitch[i]}, where
// top16(m) is the top 16 bits of m's mantissa field (vrcp14pd reads only those; Intel's RCP14
// reference algorithm; ties of the rounding go to even as in vrndscalepd).
inline constexpr std::uint32_t kLogRcpSwitch[16] = {
    0x040f, 0x0c97, 0x15b4, 0x1f70, 0x29e6, 0x3523, 0x4143, 0x4e5f,
    0x5c99, 0x6c15, 0x7d07, 0x8f9c, 0xa41a, 0xbad0, 0xd41c, 0xf080,
};

// __svml_dlog_ha_cout_rare_internal for the lanes the vector code sends there: NaN, +-0, +-inf,
// negative numbers.
inline double log_rare(double x) {
  if (x != x) return x * x;                 // NaN (quietened)
  if (x == 0.0) return -HUGE_VAL;           // the routine computes -1/0
  if (x > 0.0) return x;                    // +inf (the routine computes x*x)
  return from_bits(0xfff8000000000000ull);  // the routine computes 0/0: x86's default NaN
}

}  // namespace detail

// np.exp(x) for float64 (numpy 2.4.6, X86_V4 target: SVML __svml_exp8_ha).
inline double np_exp(double x) {
  using namespace detail;
  if (x != x) return x + x;  // NaN: the vector code propagates the (quietened) input NaN
  if (std::fabs(x) >= kExpCalloutThreshold) return exp_rare(x);

  // t = RZ(x * log2(e) + shifter) (vfmadd213pd {rz-sae}). The exact sum lies in [2^48, 2^49)
  // where the spacing is 2^-4 and the shifter is a multiple of it, so t = shifter + F/16 with
  // F = floor(16 * x * log2(e)) of the EXACT product x*log2(e) = p + e (p rounded, e exact).
  // 16p is a double; when it is not an integer its distance to any integer exceeds |16e|.
  const double p = x * kExpLog2e;
  const double perr = std::fma(x, kExpLog2e, -p);
  const double p16 = p * 16.0;
  double f = std::floor(p16);
  if (f == p16 && perr < 0.0) f -= 1.0;
  const double t = kExpShifter + f * 0.0625;  // exact
  const double n = t - kExpShifter;           // x*log2(e) truncated to 4 fraction bits
  const unsigned j = static_cast<unsigned>(to_bits(t)) & 15u;

  double r = std::fma(-n, kExpLn2Hi, x);
  r = std::fma(-n, kExpLn2Lo, r);
  r = from_bits(to_bits(r) & kExpRMask);
  const double r2 = r * r;
  const double p56 = std::fma(kExpC6, r, kExpC5);
  const double p34 = std::fma(kExpC4, r, kExpC3);
  const double p12 = std::fma(kExpC2, r, kExpC1);
  const double p36 = std::fma(r2, p56, p34);
  const double p16c = std::fma(r2, p36, p12);
  const double q = std::fma(p16c, r, kExpTlr[j]);
  const double th = kExpTh[j];
  const double y = std::fma(th, q, th);
  // vscalefpd: y * 2^floor(n); here -1022 <= floor(n) <= 1020, and one multiplication by an
  // exact power of two rounds once, exactly as vscalefpd does
  const int m = static_cast<int>(std::floor(n));
  return y * pow2i(m);
}

// np.log(x) for float64 (numpy 2.4.6, X86_V4 target: SVML __svml_log8_ha).
inline double np_log(double x) {
  using namespace detail;
  // vfpclasspd 0xdf: NaN, +-0, +-inf and negative values take the rare-case routine; positive
  // subnormals stay on the vector path (vgetexppd/vgetmantpd normalise them)
  if (!(x > 0.0) || x == HUGE_VAL) return log_rare(x);

  std::uint64_t ux = to_bits(x);
  int ex = static_cast<int>(ux >> 52);  // sign is 0
  if (ex == 0) {                        // subnormal: normalise exactly
    ux = to_bits(x * 0x1p52);
    ex = static_cast<int>(ux >> 52) - 52;
  }
  const double mant = from_bits((ux & 0x000fffffffffffffull) | 0x3ff0000000000000ull);  // [1,2)
  double e = static_cast<double>(ex - 1023);                                          // getexp

  const std::uint32_t top16 = static_cast<std::uint32_t>(ux >> 36) & 0xffffu;
  int k = 32;
  for (std::uint32_t s : kLogRcpSwitch) k -= (top16 >= s) ? 1 : 0;
  const double rcp = k * 0x1p-5;  // rcp14(mant) rounded to 1/32, in [0.5, 1]
  const unsigned idx = (k == 32) ? 0u : static_cast<unsigned>(k - 16);

  const double r = std::fma(rcp, mant, -1.0);  // rcp*mant - 1 (vfmsub213pd)
  const double a = std::fma(r, kLogP7, kLogP6);
  double b = std::fma(r, kLogP9, kLogP8);
  const double r2 = r * r;
  double c = std::fma(r, kLogP5, kLogP4);
  b = std::fma(r2, b, a);
  const double r4 = r2 * r2;
  const double d = std::fma(r, kLogP3, kLogP2);
  if (k < 24) e = e + 1.0;  // rcp < 0.75
  c = std::fma(r2, c, d);
  const double hi = std::fma(e, kLogLn2Hi, kLogTh[idx]);  // K*log(2)_high + Th
  b = std::fma(r4, b, c);
  const double high = hi + r;
  const double rh = high - hi;
  const double rl = r - rh;
  b = std::fma(r2, b, rl);
  const double lo = std::fma(kLogLn2Lo, e, kLogTl[idx]);  // K*log(2)_low + Tl
  const double res = b + lo;
  return high + res;
}

// np.sin / np.cos for float64: numpy 2.4.6 calls the C library for every element (its SIMD
// float64 sin/cos are disabled in loops_trigonometric.dispatch.cpp), so these are libm's results.
inline double np_sin(double x) { return std::sin(x); }
inline double np_cos(double x) { return std::cos(x); }

}  // namespace metarl::npm
