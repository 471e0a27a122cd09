//! Deterministic stand-in data for constants the text does not spell out (`random(7)`, `#hash`),
//! and the 16-bit float conversions the element codec needs.
//!
//! The generator is a 64-bit linear congruential generator (Knuth's MMIX constants): simple, the
//! same on every platform, and good enough for weights nobody looks at. Floats come out in
//! [-1, 1) as multiples of 2^-23, so they are exact in every float format down to f16's range.

/// A seeded pseudo-random stream.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        // Mixing the seed keeps small seeds (0, 1, 2) from starting in similar states.
        Lcg(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    pub fn next_u32(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 32) as u32
    }

    /// A float in [-1, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 / (1u32 << 23) as f32 - 1.0
    }

    /// `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next_u32() >> 24) as u8).collect()
    }
}

// The 16-bit float conversions are the `half` crate's (the evaluator uses it too); these names
// keep the element codec's call sites on raw bits.

/// IEEE half precision → single precision (exact).
pub fn f16_to_f32(h: u16) -> f32 {
    half::f16::from_bits(h).to_f32()
}

/// Single precision → IEEE half precision, rounding to nearest even.
pub fn f32_to_f16(x: f32) -> u16 {
    half::f16::from_f32(x).to_bits()
}

/// bfloat16 → single precision (exact).
pub fn bf16_to_f32(h: u16) -> f32 {
    half::bf16::from_bits(h).to_f32()
}

/// Single precision → bfloat16, rounding to nearest even.
pub fn f32_to_bf16(x: f32) -> u16 {
    half::bf16::from_f32(x).to_bits()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_floats_in_range() {
        let (mut a, mut b) = (Lcg::new(7), Lcg::new(7));
        let xs: Vec<f32> = (0..1000).map(|_| a.unit()).collect();
        let ys: Vec<f32> = (0..1000).map(|_| b.unit()).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().all(|x| (-1.0..1.0).contains(x)));
        assert_ne!(Lcg::new(8).unit(), xs[0]);
    }

    #[test]
    fn every_f16_survives_f32_and_back() {
        for h in 0..=u16::MAX {
            let f = f16_to_f32(h);
            if f.is_nan() {
                assert!(f16_to_f32(f32_to_f16(f)).is_nan());
            } else {
                assert_eq!(f32_to_f16(f), h, "{h:#06x} = {f}");
            }
        }
    }

    #[test]
    fn f16_rounds_to_nearest_even() {
        assert_eq!(f32_to_f16(1.0), 0x3c00);
        assert_eq!(f32_to_f16(65504.0), 0x7bff);
        assert_eq!(f32_to_f16(65520.0), 0x7c00); // halfway to the next step rounds up to infinity
        assert_eq!(f32_to_f16(1.0 + 1.0 / 2048.0), 0x3c00); // tie, even stays
        assert_eq!(f32_to_f16(1.0 + 3.0 / 2048.0), 0x3c02); // tie, odd rounds up
        assert_eq!(f32_to_f16(2.0f32.powi(-25)), 0); // half the smallest subnormal: tie to even
        assert_eq!(f32_to_f16(1.5 * 2.0f32.powi(-24)), 2);
    }

    #[test]
    fn bf16_round_trips_and_rounds() {
        for h in (0..=u16::MAX).step_by(7) {
            let f = bf16_to_f32(h);
            if !f.is_nan() {
                assert_eq!(f32_to_bf16(f), h);
            }
        }
        assert_eq!(f32_to_bf16(1.0 + 1.0 / 256.0), 0x3f80);
        assert_eq!(f32_to_bf16(1.0 + 3.0 / 256.0), 0x3f82);
    }
}
