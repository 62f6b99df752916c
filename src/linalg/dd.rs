//! Double-double arithmetic on pairs `(hi, lo)` of `f64`, lane by lane over slices: the
//! kernels of the double-double references ([`crate::unroll::reference`]).
//!
//! A double-double `x = hi + lo` (`|lo| ≤ ulp(hi)/2`) carries about 106 bits. The operations
//! are those of the crate `twofloat` 0.8.4 (Joldes, Muller, Popescu, *Tight and rigorous error
//! bounds for basic building blocks of double-word arithmetic*, 2017), **operation for
//! operation**, so every result here is bitwise the one `twofloat` gives:
//!
//! - [`two_sum`] (Algorithm 2): `s = fl(a + b)`, `e = (a − (s − b)) + (b − (s − (s − b)))`,
//!   `s + e = a + b` exactly;
//! - [`fast_two_sum`] (Algorithm 1): `s = fl(a + b)`, `e = b − (s − a)`, exact for
//!   `|a| ≥ |b|`;
//! - [`mul_f64`], double-double × `f64` (Algorithm 9): `p = fl(x_hi v)`,
//!   `e = fma(x_hi, v, −p)` (the exact error of `p`), `fast_two_sum(p, fma(x_lo, v, e))`;
//! - [`mul`], double-double × double-double (Algorithm 12);
//! - [`add`] (Algorithm 6, "accurate" addition), [`sub`] (the same with `−b`), [`add_f64`]
//!   and [`sub_f64`] (Algorithm 4).
//!
//! `twofloat` works one `TwoFloat` at a time and, without the `fma` target feature at compile
//! time, calls `libm`'s `fma` for every product; here the matrices are stored as two `f64`
//! planes and each kernel is one loop over a column, compiled again for AVX-512 and for
//! AVX2 with FMA and chosen at run time, so the lanes run in vector registers with the
//! hardware's fused multiply–add. A fused multiply–add is correctly rounded in hardware and
//! in `libm` alike, and the lanes do not interact, so the result does not depend on the
//! instruction set (`tests` below: bitwise against `twofloat` and across the instruction
//! sets).

/// A double-double `(hi, lo)`.
pub type Dd = (f64, f64);

/// `a + b` as `(s, e)` with `s + e = a + b` exactly (Algorithm 2, `TwoFloat::new_add`).
#[inline(always)]
pub fn two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    let aa = s - b;
    let bb = s - aa;
    let da = a - aa;
    let db = b - bb;
    (s, da + db)
}

/// `a − b` as `(s, e)` with `s + e = a − b` exactly (`TwoFloat::new_sub`).
#[inline(always)]
pub fn two_diff(a: f64, b: f64) -> Dd {
    let s = a - b;
    let aa = s + b;
    let bb = s - aa;
    let da = a - aa;
    let db = b + bb;
    (s, da - db)
}

/// `a + b` as `(s, e)`, exact when `|a| ≥ |b|` (Algorithm 1).
#[inline(always)]
pub fn fast_two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    let z = s - a;
    (s, b - z)
}

/// `x · v` for a double-double `x` and an `f64` `v` (Algorithm 9).
#[inline(always)]
pub fn mul_f64(x: Dd, v: f64) -> Dd {
    let p = x.0 * v;
    let e = x.0.mul_add(v, -p);
    fast_two_sum(p, x.1.mul_add(v, e))
}

/// `x · y`, both double-double (Algorithm 12).
#[inline(always)]
pub fn mul(x: Dd, y: Dd) -> Dd {
    let p = x.0 * y.0;
    let e = x.0.mul_add(y.0, -p);
    let tl0 = x.1 * y.1;
    let tl1 = x.0.mul_add(y.1, tl0);
    let cl2 = x.1.mul_add(y.0, tl1);
    fast_two_sum(p, e + cl2)
}

/// `a + b`, both double-double (Algorithm 6).
#[inline(always)]
pub fn add(a: Dd, b: Dd) -> Dd {
    let (sh, sl) = two_sum(a.0, b.0);
    let (th, tl) = two_sum(a.1, b.1);
    let (vh, vl) = fast_two_sum(sh, sl + th);
    fast_two_sum(vh, tl + vl)
}

/// `a − b`, both double-double (Algorithm 6 with `−b`).
#[inline(always)]
pub fn sub(a: Dd, b: Dd) -> Dd {
    let (sh, sl) = two_diff(a.0, b.0);
    let (th, tl) = two_diff(a.1, b.1);
    let (vh, vl) = fast_two_sum(sh, sl + th);
    fast_two_sum(vh, tl + vl)
}

/// `a + v` for an `f64` `v` (Algorithm 4).
#[inline(always)]
pub fn add_f64(a: Dd, v: f64) -> Dd {
    let (sh, sl) = two_sum(a.0, v);
    fast_two_sum(sh, a.1 + sl)
}

/// `a − v` for an `f64` `v` (Algorithm 4 with `−v`, `TwoFloat − f64`).
#[inline(always)]
pub fn sub_f64(a: Dd, v: f64) -> Dd {
    let (sh, sl) = two_diff(a.0, v);
    fast_two_sum(sh, a.1 + sl)
}

/// A column of double-doubles as its two planes.
pub struct Col<'a> {
    /// The high parts.
    pub hi: &'a [f64],
    /// The low parts.
    pub lo: &'a [f64],
}

/// A mutable column of double-doubles as its two planes.
pub struct ColMut<'a> {
    /// The high parts.
    pub hi: &'a mut [f64],
    /// The low parts.
    pub lo: &'a mut [f64],
}

/// The lane operations of the three kernels: each is `o ← o + f(x_i)` for one lane.
macro_rules! kernels {
    ($(#[$attr:meta])* $axpy:ident, $axpy_dd:ident, $scale_acc:ident) => {
        $(#[$attr])*
        fn $axpy(out: ColMut, x: Col, v: f64) {
            let n = out.hi.len();
            let (oh, ol, xh, xl) = (&mut out.hi[..n], &mut out.lo[..n], &x.hi[..n], &x.lo[..n]);
            for i in 0..n {
                (oh[i], ol[i]) = add((oh[i], ol[i]), mul_f64((xh[i], xl[i]), v));
            }
        }

        $(#[$attr])*
        fn $axpy_dd(out: ColMut, x: Col, v: Dd) {
            let n = out.hi.len();
            let (oh, ol, xh, xl) = (&mut out.hi[..n], &mut out.lo[..n], &x.hi[..n], &x.lo[..n]);
            for i in 0..n {
                (oh[i], ol[i]) = add((oh[i], ol[i]), mul((xh[i], xl[i]), v));
            }
        }

        $(#[$attr])*
        fn $scale_acc(out: ColMut, s: Dd, a: &[f64]) {
            let n = out.hi.len();
            let (oh, ol, a) = (&mut out.hi[..n], &mut out.lo[..n], &a[..n]);
            for i in 0..n {
                let (h, l) = add((oh[i], ol[i]), mul_f64(s, a[i]));
                let skip = a[i] == 0.0;
                oh[i] = if skip { oh[i] } else { h };
                ol[i] = if skip { ol[i] } else { l };
            }
        }
    };
}

kernels!(axpy_portable, axpy_dd_portable, scale_acc_portable);
#[cfg(target_arch = "x86_64")]
kernels!(
    #[target_feature(enable = "avx2,fma")]
    axpy_avx2,
    axpy_dd_avx2,
    scale_acc_avx2
);
#[cfg(target_arch = "x86_64")]
kernels!(
    #[target_feature(enable = "avx512f,avx2,fma")]
    axpy_avx512,
    axpy_dd_avx512,
    scale_acc_avx512
);

/// Which compiled copy of the kernels runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// No target features (`fma` through `libm`).
    Portable,
    /// AVX2 and FMA.
    Avx2,
    /// AVX-512F (with AVX2 and FMA).
    Avx512,
}

impl Isa {
    /// The widest this CPU runs.
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if super::kernels::avx512() {
                return Isa::Avx512;
            }
            if super::kernels::avx2_fma() {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }

    /// `true` when this CPU can run `self`.
    pub fn available(self) -> bool {
        match self {
            Isa::Portable => true,
            Isa::Avx2 => matches!(Isa::detect(), Isa::Avx2 | Isa::Avx512),
            Isa::Avx512 => Isa::detect() == Isa::Avx512,
        }
    }
}

/// `out_i ← out_i + x_i · v` (Algorithms 9 and 6) for every lane, with `isa` (which must be
/// [`Isa::available`]; panics otherwise). The columns must have equal lengths.
pub fn axpy_with(isa: Isa, out: ColMut, x: Col, v: f64) {
    assert!(out.lo.len() == out.hi.len() && x.hi.len() == out.hi.len() && x.lo.len() == out.hi.len(), "axpy: lengths");
    assert!(isa.available(), "axpy: {isa:?} not available on this CPU");
    match isa {
        Isa::Portable => axpy_portable(out, x, v),
        // SAFETY: the CPU has the features of `isa` (asserted above).
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { axpy_avx2(out, x, v) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { axpy_avx512(out, x, v) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => unreachable!("only the portable kernels exist off x86-64"),
    }
}

/// `out_i ← out_i + x_i · v` for a double-double `v` (Algorithms 12 and 6), with `isa`.
pub fn axpy_dd_with(isa: Isa, out: ColMut, x: Col, v: Dd) {
    assert!(
        out.lo.len() == out.hi.len() && x.hi.len() == out.hi.len() && x.lo.len() == out.hi.len(),
        "axpy_dd: lengths"
    );
    assert!(isa.available(), "axpy_dd: {isa:?} not available on this CPU");
    match isa {
        Isa::Portable => axpy_dd_portable(out, x, v),
        // SAFETY: the CPU has the features of `isa` (asserted above).
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { axpy_dd_avx2(out, x, v) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { axpy_dd_avx512(out, x, v) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => unreachable!("only the portable kernels exist off x86-64"),
    }
}

/// `out_i ← out_i + s · a_i` for a double-double `s` and `f64` `a_i`, lanes with `a_i = 0`
/// left as they are (Algorithms 9 and 6), with `isa`.
pub fn scale_acc_with(isa: Isa, out: ColMut, s: Dd, a: &[f64]) {
    assert!(out.lo.len() == out.hi.len() && a.len() == out.hi.len(), "scale_acc: lengths");
    assert!(isa.available(), "scale_acc: {isa:?} not available on this CPU");
    match isa {
        Isa::Portable => scale_acc_portable(out, s, a),
        // SAFETY: the CPU has the features of `isa` (asserted above).
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { scale_acc_avx2(out, s, a) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { scale_acc_avx512(out, s, a) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => unreachable!("only the portable kernels exist off x86-64"),
    }
}

/// [`axpy_with`] with the widest instruction set of this CPU.
pub fn axpy(out: ColMut, x: Col, v: f64) {
    axpy_with(Isa::detect(), out, x, v)
}

/// [`axpy_dd_with`] with the widest instruction set of this CPU.
pub fn axpy_dd(out: ColMut, x: Col, v: Dd) {
    axpy_dd_with(Isa::detect(), out, x, v)
}

/// [`scale_acc_with`] with the widest instruction set of this CPU.
pub fn scale_acc(out: ColMut, s: Dd, a: &[f64]) {
    scale_acc_with(Isa::detect(), out, s, a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use twofloat::TwoFloat;

    fn parts(t: TwoFloat) -> Dd {
        (t.hi(), t.lo())
    }

    /// Double-doubles of varied magnitude and sign with non-zero low parts, zeros among them.
    fn sample(n: usize, seed: u64) -> Vec<TwoFloat> {
        let mut rng = crate::problem::draw::rng(seed);
        let v = crate::problem::draw::normal_vector(3 * n, 1.0, &mut rng);
        (0..n)
            .map(|i| {
                if i % 7 == 3 {
                    return TwoFloat::from(0.0);
                }
                let scale = 2f64.powi((v[3 * i + 2] * 8.0) as i32);
                TwoFloat::from(v[3 * i] * scale) / 3.0 + v[3 * i + 1] * scale * 1e-9
            })
            .collect()
    }

    /// The instruction sets this CPU runs, the detected one among them.
    fn isas() -> Vec<Isa> {
        let all: Vec<Isa> = [Isa::Portable, Isa::Avx2, Isa::Avx512].into_iter().filter(|i| i.available()).collect();
        assert!(all.contains(&Isa::detect()), "the detected {:?} must be available", Isa::detect());
        all
    }

    /// The scalar operations are `twofloat`'s, bitwise; a control with the plain (not
    /// fused) product error is not.
    #[test]
    fn scalar_operations_are_twofloats() {
        let (xs, ys) = (sample(500, 1), sample(500, 2));
        let mut unfused_differs = false;
        for (&x, &y) in xs.iter().zip(&ys) {
            let v = y.hi();
            assert_eq!(parts(x * v), mul_f64(parts(x), v), "{x:?} · {v}");
            assert_eq!(parts(x * y), mul(parts(x), parts(y)), "{x:?} · {y:?}");
            assert_eq!(parts(x + y), add(parts(x), parts(y)), "{x:?} + {y:?}");
            assert_eq!(parts(x - y), sub(parts(x), parts(y)), "{x:?} − {y:?}");
            assert_eq!(parts(x + v), add_f64(parts(x), v), "{x:?} + {v}");
            assert_eq!(parts(x - v), sub_f64(parts(x), v), "{x:?} − {v}");
            assert_eq!(parts(TwoFloat::new_add(x.hi(), v)), two_sum(x.hi(), v));
            let p = x.hi() * v;
            let unfused = fast_two_sum(p, x.lo() * v + (x.hi() * v - p));
            unfused_differs |= unfused != mul_f64(parts(x), v);
        }
        assert!(unfused_differs, "control: a product without its exact error must differ somewhere");
    }

    /// Each kernel on every instruction set of this CPU is, lane for lane, the `twofloat`
    /// expression it stands for (lengths with and without a vector tail; zeros in `a` keep
    /// their lane).
    #[test]
    fn kernels_are_twofloats_on_every_instruction_set() {
        for n in [0, 1, 3, 8, 13, 40] {
            let (o, x, a) = (sample(n, 10 + n as u64), sample(n, 20 + n as u64), sample(n, 30 + n as u64));
            let s = sample(3, 40)[1];
            let a: Vec<f64> = a.iter().map(|t| t.hi()).collect();
            let v = a.iter().copied().find(|&v| v != 0.0).unwrap_or(1.5);
            let (xh, xl): (Vec<f64>, Vec<f64>) = x.iter().map(|&t| parts(t)).unzip();
            let want_axpy: Vec<Dd> = o.iter().zip(&x).map(|(&o, &x)| parts(o + x * v)).collect();
            let want_dd: Vec<Dd> = o.iter().zip(&x).map(|(&o, &x)| parts(o + x * s)).collect();
            let want_scale: Vec<Dd> =
                o.iter().zip(&a).map(|(&o, &a)| parts(if a != 0.0 { o + s * a } else { o })).collect();
            for isa in isas() {
                let run = |f: &dyn Fn(ColMut)| -> Vec<Dd> {
                    let (mut oh, mut ol): (Vec<f64>, Vec<f64>) = o.iter().map(|&t| parts(t)).unzip();
                    f(ColMut { hi: &mut oh, lo: &mut ol });
                    oh.into_iter().zip(ol).collect()
                };
                let got = run(&|out| axpy_with(isa, out, Col { hi: &xh, lo: &xl }, v));
                assert_eq!(got, want_axpy, "axpy, {isa:?}, n = {n}");
                let got = run(&|out| axpy_dd_with(isa, out, Col { hi: &xh, lo: &xl }, parts(s)));
                assert_eq!(got, want_dd, "axpy_dd, {isa:?}, n = {n}");
                let got = run(&|out| scale_acc_with(isa, out, parts(s), &a));
                assert_eq!(got, want_scale, "scale_acc, {isa:?}, n = {n}");
            }
        }
    }
}
