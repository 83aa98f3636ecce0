//! The `f64` rounding that std provides and `core` lacks (the wasm build is `no_std`).

/// 2^52: from here on every `f64` is a whole number.
const WHOLE_FROM: f64 = 4_503_599_627_370_496.0;

/// `v` rounded toward zero. NaN, infinities and values beyond 2^52 come back as given.
pub fn trunc(v: f64) -> f64 {
    if v.abs() < WHOLE_FROM {
        v as i64 as f64
    } else {
        v
    }
}

/// Whether `v` is a whole number (false for NaN and infinities).
pub fn is_whole(v: f64) -> bool {
    v.is_finite() && trunc(v) == v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_toward_zero_like_std() {
        for v in [
            0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.0,
            1e15 + 0.5,
            9e15,
            1e300,
            -7.999,
        ] {
            assert_eq!(trunc(v), v.trunc(), "{v}");
        }
        assert!(trunc(f64::NAN).is_nan());
        assert_eq!(trunc(f64::INFINITY), f64::INFINITY);
    }

    #[test]
    fn whole_numbers_are_finite_and_without_fraction() {
        assert!(is_whole(3.0) && is_whole(-0.0) && is_whole(1e300));
        assert!(!is_whole(1.5) && !is_whole(f64::NAN) && !is_whole(f64::INFINITY));
    }
}
