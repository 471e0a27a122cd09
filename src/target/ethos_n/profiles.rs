//! What the Ethos-N rules are judged against: a driver-stack [`Release`] (the Support Library's
//! rules change between releases), a hardware [`Variant`] (its SRAM decides several limits), and
//! whether TVM's own front-end checks run first ([`Profile`]).
//!
//! Per-release changes (ARM-software/ethos-n-driver-stack `SupportQueries.cpp`, diffed tag by tag):
//! * 22.11 / 23.02 (SL 3.2.0): legacy compiler by default, so concat/split along channels need
//!   multiples of 16; padding must be VALID or SAME; max pooling only in five stride-2 shapes;
//!   `IsSoftmaxSupported` exists (always EstimateOnly).
//! * 23.05 (SL 4.0.0): the cascading compiler is the only one (no 16-channel rule); no Softmax.
//! * 23.08 (SL 4.0.0): any padding ≤ 7 per side; stride-1 max pooling; `IsStandalonePaddingSupported`.
//! * 23.11 (SL 5.0.0): `IsMultiplicationSupported`. 24.05–24.10: no support-query changes.
//! * 25.03 (SL 6.0.0): `IsTransposeSupported` answers Supported (was EstimateOnly).
//!
//! Hardware variants and the SRAM override rule are from `CapabilitiesInternal.cpp`.

use std::fmt;
use std::str::FromStr;

/// A driver-stack release whose Support Library rules we reproduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Release {
    R22_11,
    R23_02,
    R23_05,
    R23_08,
    R23_11,
    R24_05,
    R24_07,
    R24_10,
    R25_03,
}

impl Release {
    /// Every release, oldest first.
    pub const ALL: [Release; 9] = [
        Release::R22_11,
        Release::R23_02,
        Release::R23_05,
        Release::R23_08,
        Release::R23_11,
        Release::R24_05,
        Release::R24_07,
        Release::R24_10,
        Release::R25_03,
    ];
    pub const FIRST: Release = Release::R22_11;
    pub const LATEST: Release = Release::R25_03;

    /// The tag name, e.g. `23.02`.
    pub fn name(self) -> &'static str {
        match self {
            Release::R22_11 => "22.11",
            Release::R23_02 => "23.02",
            Release::R23_05 => "23.05",
            Release::R23_08 => "23.08",
            Release::R23_11 => "23.11",
            Release::R24_05 => "24.05",
            Release::R24_07 => "24.07",
            Release::R24_10 => "24.10",
            Release::R25_03 => "25.03",
        }
    }

    /// The Support Library version the release ships (`Support.hpp`).
    pub fn support_library_version(self) -> &'static str {
        match self {
            Release::R22_11 | Release::R23_02 => "3.2.0",
            Release::R23_05 | Release::R23_08 => "4.0.0",
            Release::R23_11 | Release::R24_05 => "5.0.0",
            Release::R24_07 | Release::R24_10 => "5.0.1",
            Release::R25_03 => "6.0.0",
        }
    }
}

impl Default for Release {
    fn default() -> Self {
        Release::LATEST
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Release {
    type Err = ProfileError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Release::ALL
            .into_iter()
            .find(|r| r.name() == s.trim())
            .ok_or_else(|| ProfileError::UnknownRelease(s.to_string()))
    }
}

/// Why a release, variant or profile string was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error(
        "unknown driver-stack release '{0}' (known: 22.11, 23.02, 23.05, 23.08, 23.11, 24.05, \
         24.07, 24.10, 25.03)"
    )]
    UnknownRelease(String),
    #[error(
        "unknown Ethos-N profile '{0}' (a release such as 25.03, tvm-3.2.0 or sl-3.2.0-cascading)"
    )]
    UnknownProfile(String),
    /// The Support Library's `std::invalid_argument("Unknown NPU type")`.
    #[error("Unknown NPU type: N78 with {tops} TOPS and PLE ratio {ple_ratio}")]
    UnknownNpuType { tops: u32, ple_ratio: u32 },
    /// One of the Support Library's `NotSupportedException`s for a user SRAM size.
    #[error("{message} (sram={sram} bytes, {per_emc} bytes per EMC)")]
    BadSramSize {
        message: &'static str,
        sram: u32,
        per_emc: u32,
    },
    #[error("cannot read Ethos-N variant '{text}': {reason}")]
    BadVariant { text: String, reason: String },
}

/// The hardware figures the rules use (`FirmwareAndHardwareCapabilities`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    pub engines: u32,
    pub igs_per_engine: u32,
    pub ogs_per_engine: u32,
    pub emcs_per_engine: u32,
    /// Total SRAM in bytes (the variant's, or the user override).
    pub total_sram: u32,
    pub ple_lanes: u32,
    /// Bytes of SRAM a PLE kernel takes (4096 on every variant).
    pub max_ple_size: u32,
}

impl Capabilities {
    /// One SRAM per EMC.
    pub fn num_srams(&self) -> u32 {
        self.engines * self.emcs_per_engine
    }

    pub fn num_ogs(&self) -> u32 {
        self.engines * self.ogs_per_engine
    }

    /// SRAM bytes per EMC, rounded up as the library does.
    pub fn sram_per_emc(&self) -> u32 {
        self.total_sram.div_ceil(self.num_srams())
    }
}

/// One row of the N78 variant table.
#[derive(Clone, Copy)]
struct VariantRow {
    tops: u32,
    ple_ratio: u32,
    engines: u32,
    igs_per_engine: u32,
    ogs_per_engine: u32,
    emcs_per_engine: u32,
    sram_kib: u32,
    ple_lanes: u32,
}

/// The variants of `GetEthosN78FwHwCapabilities`.
const VARIANTS: [VariantRow; 7] = [
    VariantRow {
        tops: 1,
        ple_ratio: 2,
        engines: 2,
        igs_per_engine: 4,
        ogs_per_engine: 4,
        emcs_per_engine: 4,
        sram_kib: 448,
        ple_lanes: 1,
    },
    VariantRow {
        tops: 1,
        ple_ratio: 4,
        engines: 2,
        igs_per_engine: 4,
        ogs_per_engine: 4,
        emcs_per_engine: 4,
        sram_kib: 448,
        ple_lanes: 2,
    },
    VariantRow {
        tops: 2,
        ple_ratio: 2,
        engines: 4,
        igs_per_engine: 2,
        ogs_per_engine: 4,
        emcs_per_engine: 2,
        sram_kib: 768,
        ple_lanes: 1,
    },
    VariantRow {
        tops: 2,
        ple_ratio: 4,
        engines: 4,
        igs_per_engine: 2,
        ogs_per_engine: 4,
        emcs_per_engine: 2,
        sram_kib: 768,
        ple_lanes: 2,
    },
    VariantRow {
        tops: 4,
        ple_ratio: 2,
        engines: 4,
        igs_per_engine: 4,
        ogs_per_engine: 4,
        emcs_per_engine: 4,
        sram_kib: 1024,
        ple_lanes: 2,
    },
    VariantRow {
        tops: 4,
        ple_ratio: 4,
        engines: 8,
        igs_per_engine: 2,
        ogs_per_engine: 2,
        emcs_per_engine: 2,
        sram_kib: 1024,
        ple_lanes: 2,
    },
    VariantRow {
        tops: 8,
        ple_ratio: 2,
        engines: 8,
        igs_per_engine: 2,
        ogs_per_engine: 4,
        emcs_per_engine: 2,
        sram_kib: 2048,
        ple_lanes: 2,
    },
];

/// An Ethos-N78 configuration: TOPS, PLE ratio and an optional SRAM size override (bytes).
/// Always valid once built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Variant {
    tops: u32,
    ple_ratio: u32,
    sram_override: Option<u32>,
}

impl Variant {
    /// Validates the pair against the N78 table and the override against the library's rule:
    /// the SRAM per EMC (override / (engines · IGs per engine)) must be 32–128 KiB in 16 KiB
    /// steps, or exactly 56 KiB or 256 KiB. An override of 0 means "the variant's default".
    pub fn new(
        tops: u32,
        ple_ratio: u32,
        sram_override: Option<u32>,
    ) -> Result<Self, ProfileError> {
        let variant = Variant {
            tops,
            ple_ratio,
            sram_override: sram_override.filter(|&bytes| bytes != 0),
        };
        let row = variant
            .row()
            .ok_or(ProfileError::UnknownNpuType { tops, ple_ratio })?;
        if let Some(sram) = variant.sram_override {
            check_sram_override(sram, row.engines * row.igs_per_engine)?;
        }
        Ok(variant)
    }

    /// Every N78 variant with its default SRAM, in table order.
    pub fn all() -> impl Iterator<Item = Variant> {
        VARIANTS.into_iter().map(|row| Variant {
            tops: row.tops,
            ple_ratio: row.ple_ratio,
            sram_override: None,
        })
    }

    pub fn tops(&self) -> u32 {
        self.tops
    }

    pub fn ple_ratio(&self) -> u32 {
        self.ple_ratio
    }

    pub fn sram_override(&self) -> Option<u32> {
        self.sram_override
    }

    /// The Support Library's name, e.g. `N78_4TOPS_4PLE_RATIO`.
    pub fn name(&self) -> String {
        format!("N78_{}TOPS_{}PLE_RATIO", self.tops, self.ple_ratio)
    }

    pub fn capabilities(&self) -> Capabilities {
        // A built variant is always in the table; the default row is never used.
        let row = self.row().unwrap_or(VARIANTS[5]);
        Capabilities {
            engines: row.engines,
            igs_per_engine: row.igs_per_engine,
            ogs_per_engine: row.ogs_per_engine,
            emcs_per_engine: row.emcs_per_engine,
            total_sram: self.sram_override.unwrap_or(row.sram_kib * 1024),
            ple_lanes: row.ple_lanes,
            max_ple_size: 4096,
        }
    }

    fn row(&self) -> Option<VariantRow> {
        VARIANTS
            .into_iter()
            .find(|row| (row.tops, row.ple_ratio) == (self.tops, self.ple_ratio))
    }
}

/// `GetEthosN78FwHwCapabilities`' check of a user SRAM size.
fn check_sram_override(sram: u32, emcs: u32) -> Result<(), ProfileError> {
    const KIB: u32 = 1024;
    let per_emc = sram / emcs;
    let message = if per_emc < 32 * KIB {
        Some("User configured SRAM size is smaller than the minimum allowed for this variant")
    } else if per_emc > 128 * KIB && per_emc != 256 * KIB {
        Some("User configured SRAM size is larger than the maximum allowed for this variant")
    } else if per_emc % (16 * KIB) != 0 && per_emc != 56 * KIB {
        Some("User configured SRAM size per Emc is not a multiple of 16")
    } else {
        None
    };
    match message {
        Some(message) => Err(ProfileError::BadSramSize {
            message,
            sram,
            per_emc,
        }),
        None => Ok(()),
    }
}

impl Default for Variant {
    /// N78, 4 TOPS, PLE ratio 4 (the reference report's configuration).
    fn default() -> Self {
        Variant {
            tops: 4,
            ple_ratio: 4,
            sram_override: None,
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())?;
        if let Some(sram) = self.sram_override {
            write!(f, ",sram={sram}")?;
        }
        Ok(())
    }
}

impl FromStr for Variant {
    type Err = ProfileError;

    /// `N78_4TOPS_4PLE_RATIO`, or `tops=4,ple=4[,sram=…]`, or `N78_…,sram=…`. SRAM is in bytes,
    /// or with a `K`/`KiB`/`M`/`MiB` suffix (binary units).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |reason: String| ProfileError::BadVariant {
            text: text.to_string(),
            reason,
        };
        let (mut tops, mut ple, mut sram) = (None, None, None);
        for item in text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            if let Some((key, value)) = item.split_once('=') {
                let slot = match key.trim().to_ascii_lowercase().as_str() {
                    "tops" => &mut tops,
                    "ple" | "ple_ratio" => &mut ple,
                    "sram" | "sram_size" => &mut sram,
                    other => return Err(bad(format!("unknown key '{other}'"))),
                };
                *slot = Some(parse_bytes(value).map_err(bad)?);
            } else {
                let (t, p) = parse_variant_name(item)
                    .ok_or_else(|| bad(format!("'{item}' is not like N78_4TOPS_4PLE_RATIO")))?;
                tops = Some(t);
                ple = Some(p);
            }
        }
        let tops = tops.ok_or_else(|| bad("no TOPS given".to_string()))?;
        let ple = ple.ok_or_else(|| bad("no PLE ratio given".to_string()))?;
        Variant::new(tops, ple, sram)
    }
}

/// `N78_<T>TOPS_<R>PLE_RATIO` → (T, R).
fn parse_variant_name(name: &str) -> Option<(u32, u32)> {
    let rest = name.to_ascii_uppercase();
    let rest = rest.strip_prefix("N78_")?;
    let (tops, rest) = rest.split_once("TOPS_")?;
    let ple = rest.strip_suffix("PLE_RATIO")?;
    Some((tops.parse().ok()?, ple.parse().ok()?))
}

/// A byte count, optionally with a binary K/KiB/M/MiB suffix.
fn parse_bytes(value: &str) -> Result<u32, String> {
    let value = value.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (digits, unit) = value.split_at(split);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" => 1,
        "k" | "kib" => 1024,
        "m" | "mib" => 1024 * 1024,
        other => return Err(format!("unknown unit '{other}' in '{value}'")),
    };
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("'{value}' is not a number"))?;
    u32::try_from(number * scale).map_err(|_| format!("'{value}' is too large"))
}

/// A release, a hardware variant and the front-end behaviour to reproduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Profile {
    release: Release,
    variant: Variant,
    tvm_frontend: bool,
    experimental_compiler: bool,
}

impl Profile {
    /// The release on the default variant. TVM's front-end checks are on for 23.02 only, the
    /// last release TVM's Ethos-N integration accepted (it demands SL 3.2.0).
    pub fn new(release: Release) -> Self {
        Profile {
            release,
            variant: Variant::default(),
            tvm_frontend: release == Release::R23_02,
            experimental_compiler: false,
        }
    }

    pub fn with_variant(mut self, variant: Variant) -> Self {
        self.variant = variant;
        self
    }

    /// Run TVM's own checks (`ethosn_api.cc`) before the Support Library's.
    pub fn with_tvm_frontend(mut self, on: bool) -> Self {
        self.tvm_frontend = on;
        self
    }

    /// As if `FORCE_EXPERIMENTAL_COMPILER=1` were set when the support queries are created
    /// (only 22.11/23.02 have a legacy compiler; later releases use the cascading one anyway).
    pub fn with_experimental_compiler(mut self, on: bool) -> Self {
        self.experimental_compiler = on;
        self
    }

    pub fn release(&self) -> Release {
        self.release
    }

    pub fn variant(&self) -> Variant {
        self.variant
    }

    pub fn capabilities(&self) -> Capabilities {
        self.variant.capabilities()
    }

    pub fn tvm_frontend(&self) -> bool {
        self.tvm_frontend
    }

    /// Whether the support queries follow the legacy compiler (the 16-channel rules).
    pub fn legacy_compiler(&self) -> bool {
        self.release <= Release::R23_02 && !self.experimental_compiler
    }
}

impl Default for Profile {
    fn default() -> Self {
        Profile::new(Release::default())
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.release, self.variant)?;
        if self.tvm_frontend {
            f.write_str(" with TVM front-end checks")?;
        }
        if self.release <= Release::R23_02 && self.experimental_compiler {
            f.write_str(" with the experimental compiler")?;
        }
        Ok(())
    }
}

impl FromStr for Profile {
    type Err = ProfileError;

    /// A release (`25.03`), `tvm-3.2.0` (23.02 with TVM's checks) or `sl-3.2.0-cascading`
    /// (23.02, Support Library alone, `FORCE_EXPERIMENTAL_COMPILER=1`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "tvm-3.2.0" => Ok(Profile::new(Release::R23_02).with_tvm_frontend(true)),
            "sl-3.2.0-cascading" => Ok(Profile::new(Release::R23_02)
                .with_tvm_frontend(false)
                .with_experimental_compiler(true)),
            other => other
                .parse::<Release>()
                .map(Profile::new)
                .map_err(|_| ProfileError::UnknownProfile(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_parse_display_and_order() {
        for release in Release::ALL {
            assert_eq!(release.name().parse::<Release>(), Ok(release));
            assert_eq!(release.to_string(), release.name());
        }
        assert_eq!(Release::default(), Release::R25_03);
        assert!(Release::R23_02 < Release::R23_08);
        assert!("23.03".parse::<Release>().is_err());
        assert_eq!(Release::R23_08.support_library_version(), "4.0.0");
    }

    #[test]
    fn variant_table_matches_the_capabilities_source() {
        let caps = |t, p| Variant::new(t, p, None).unwrap().capabilities();
        assert_eq!(
            (caps(1, 2).total_sram, caps(1, 2).num_srams()),
            (448 * 1024, 8)
        );
        assert_eq!(caps(1, 4).sram_per_emc(), 56 * 1024);
        assert_eq!(
            (caps(2, 2).total_sram, caps(2, 4).num_srams()),
            (768 * 1024, 8)
        );
        assert_eq!(caps(2, 2).sram_per_emc(), 96 * 1024);
        assert_eq!((caps(4, 2).num_srams(), caps(4, 4).num_srams()), (16, 16));
        assert_eq!(caps(4, 4).sram_per_emc(), 64 * 1024);
        assert_eq!(
            (caps(8, 2).total_sram, caps(8, 2).sram_per_emc()),
            (2048 * 1024, 128 * 1024)
        );
        assert_eq!(caps(4, 4).engines, 8);
    }

    #[test]
    fn invalid_pairs_are_unknown_npu_types() {
        for (tops, ple) in [(8, 4), (3, 2), (1, 1)] {
            assert_eq!(
                Variant::new(tops, ple, None),
                Err(ProfileError::UnknownNpuType {
                    tops,
                    ple_ratio: ple
                })
            );
        }
    }

    #[test]
    fn sram_override_follows_the_per_emc_rule() {
        // 4 TOPS / 4 PLE: 8 engines × 2 IGs = 16 EMCs.
        let per_emc = |kib: u32| Variant::new(4, 4, Some(kib * 1024 * 16));
        assert!(per_emc(32).is_ok());
        assert!(per_emc(48).is_ok());
        assert!(per_emc(56).is_ok());
        assert!(per_emc(128).is_ok());
        assert!(per_emc(256).is_ok());
        let message = |r: Result<Variant, ProfileError>| match r {
            Err(ProfileError::BadSramSize { message, .. }) => message,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            message(per_emc(16)),
            "User configured SRAM size is smaller than the minimum allowed for this variant"
        );
        assert_eq!(
            message(per_emc(144)),
            "User configured SRAM size is larger than the maximum allowed for this variant"
        );
        assert_eq!(
            message(per_emc(40)),
            "User configured SRAM size per Emc is not a multiple of 16"
        );
        let v = per_emc(32).unwrap();
        assert_eq!(v.capabilities().total_sram, 512 * 1024);
        assert_eq!(Variant::new(4, 4, Some(0)).unwrap(), Variant::default());
    }

    #[test]
    fn variants_parse_from_names_and_keys() {
        let v: Variant = "N78_1TOPS_2PLE_RATIO".parse().unwrap();
        assert_eq!((v.tops(), v.ple_ratio(), v.sram_override()), (1, 2, None));
        let v: Variant = "tops=4,ple=4".parse().unwrap();
        assert_eq!(v, Variant::default());
        let v: Variant = "tops=4, ple=4, sram=512KiB".parse().unwrap();
        assert_eq!(v.sram_override(), Some(512 * 1024));
        let v: Variant = "N78_8TOPS_2PLE_RATIO,sram=4M".parse().unwrap();
        assert_eq!(v.capabilities().total_sram, 4 * 1024 * 1024);
        assert_eq!(v.to_string(), "N78_8TOPS_2PLE_RATIO,sram=4194304");
        assert_eq!(Variant::default().to_string(), "N78_4TOPS_4PLE_RATIO");
        assert!("N78_8TOPS_4PLE_RATIO".parse::<Variant>().is_err());
        assert!("tops=4".parse::<Variant>().is_err());
        assert!("tops=4,ple=4,sram=12X".parse::<Variant>().is_err());
        assert!("N77_4TOPS_4PLE_RATIO".parse::<Variant>().is_err());
    }

    #[test]
    fn profiles_default_and_parse() {
        let p = Profile::default();
        assert_eq!(p.release(), Release::R25_03);
        assert!(!p.tvm_frontend());
        assert!(Profile::new(Release::R23_02).tvm_frontend());
        assert!(!Profile::new(Release::R22_11).tvm_frontend());
        assert!(Profile::new(Release::R23_02).legacy_compiler());
        assert!(!Profile::new(Release::R23_05).legacy_compiler());
        let cascading: Profile = "sl-3.2.0-cascading".parse().unwrap();
        assert!(!cascading.legacy_compiler() && !cascading.tvm_frontend());
        let tvm: Profile = "tvm-3.2.0".parse().unwrap();
        assert!(tvm.tvm_frontend() && tvm.legacy_compiler());
        assert_eq!(
            "23.08".parse::<Profile>().unwrap().release(),
            Release::R23_08
        );
        assert!("tvm".parse::<Profile>().is_err());
        assert_eq!(
            tvm.to_string(),
            "23.02 on N78_4TOPS_4PLE_RATIO with TVM front-end checks"
        );
    }
}
