//! A run's recorded configuration: `key = value` pairs a checkpoint keeps
//! as `config.{key}` metadata, and the comparison that decides whether a
//! checkpoint belongs to the run about to resume from it.
//!
//! A value is compared by its text, by its meaning (two spellings of one
//! optimiser spec, say `sgd(lr=0.1)` and `sgd( momentum=0, lr=1e-1 )`,
//! are the same run), or not at all (a note such as the number of
//! processes, which a run may change between its parts). A key the
//! checkpoint recorded and this run does not, or the reverse, is a
//! difference too.

use gradus_nn::Checkpoint;

/// Whether two recorded values of one key are the same setting.
pub type SameMeaning = fn(&str, &str) -> bool;

/// One way a checkpoint's recorded configuration differs from a run's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// The key ([`Trainer::record`](crate::Trainer::record)).
    pub key: String,
    /// The checkpoint's value, if it recorded one.
    pub saved: Option<String>,
    /// This run's value, if it records one.
    pub this: Option<String>,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.saved, &self.this) {
            (Some(s), Some(t)) => write!(f, "{}: the checkpoint's run used `{s}`, this one `{t}`", self.key),
            (Some(s), None) => write!(f, "{}: the checkpoint's run used `{s}`, this one sets none", self.key),
            (None, t) => {
                write!(f, "{}: the checkpoint records none, this run uses `{}`", self.key, t.as_deref().unwrap_or(""))
            }
        }
    }
}

#[derive(Clone, Debug)]
enum Compare {
    Text,
    Meaning(SameMeaning),
    Never,
}

#[derive(Clone, Debug)]
struct Entry {
    key: String,
    value: String,
    compare: Compare,
}

/// The configuration a [`Trainer`](crate::Trainer) records.
#[derive(Clone, Debug, Default)]
pub(crate) struct RunConfig {
    entries: Vec<Entry>,
}

impl RunConfig {
    fn set(&mut self, key: &str, value: &str, compare: Compare) {
        self.entries.retain(|e| e.key != key);
        self.entries.push(Entry { key: key.to_string(), value: value.to_string(), compare });
    }

    pub(crate) fn record(&mut self, key: &str, value: &str) {
        self.set(key, value, Compare::Text);
    }

    pub(crate) fn record_meaning(&mut self, key: &str, value: &str, same: SameMeaning) {
        self.set(key, value, Compare::Meaning(same));
    }

    pub(crate) fn note(&mut self, key: &str, value: &str) {
        self.set(key, value, Compare::Never);
    }

    /// Every pair, in the order recorded.
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|e| (e.key.as_str(), e.value.as_str()))
    }

    /// Each way `ck`'s recorded configuration differs from this one.
    pub(crate) fn differences(&self, ck: &Checkpoint) -> Vec<Difference> {
        let mut differ: Vec<Difference> = self
            .entries
            .iter()
            .filter_map(|e| {
                let saved = ck.metadata(&format!("config.{}", e.key));
                let same = match (&e.compare, saved) {
                    (Compare::Never, _) => true,
                    (_, None) => false,
                    (Compare::Text, Some(s)) => s == e.value,
                    (Compare::Meaning(same), Some(s)) => s == e.value || same(s, &e.value),
                };
                (!same).then(|| Difference {
                    key: e.key.clone(),
                    saved: saved.map(str::to_string),
                    this: Some(e.value.clone()),
                })
            })
            .collect();
        for name in ck.metadata_keys() {
            let Some(key) = name.strip_prefix("config.") else { continue };
            if !self.entries.iter().any(|e| e.key == key) {
                differ.push(Difference {
                    key: key.to_string(),
                    saved: ck.metadata(name).map(str::to_string),
                    this: None,
                });
            }
        }
        differ
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(pairs: &[(&str, &str)]) -> Checkpoint {
        let mut ck = Checkpoint::new();
        for (k, v) in pairs {
            ck.set_metadata(&format!("config.{k}"), v);
        }
        ck
    }

    #[test]
    fn values_compare_by_text_by_meaning_or_not_at_all() {
        let same_number = |a: &str, b: &str| a.parse::<f64>().ok() == b.parse::<f64>().ok();
        let mut c = RunConfig::default();
        c.record("seed", "0");
        c.record_meaning("lr", "0.1", same_number);
        c.note("world_size", "2");
        assert!(c.differences(&checkpoint(&[("seed", "0"), ("lr", "1e-1"), ("world_size", "1")])).is_empty());
        let d: Vec<String> =
            c.differences(&checkpoint(&[("seed", "00"), ("lr", "0.2")])).iter().map(ToString::to_string).collect();
        assert_eq!(
            d,
            [
                "seed: the checkpoint's run used `00`, this one `0`",
                "lr: the checkpoint's run used `0.2`, this one `0.1`"
            ]
        );
    }

    #[test]
    fn a_key_on_one_side_only_is_a_difference() {
        let mut c = RunConfig::default();
        c.record("seed", "0");
        assert_eq!(
            c.differences(&checkpoint(&[("seed", "0"), ("flush_denormal", "true")]))[0].to_string(),
            "flush_denormal: the checkpoint's run used `true`, this one sets none"
        );
        c.record("sharpness_every", "5");
        assert_eq!(
            c.differences(&checkpoint(&[("seed", "0")]))[0].to_string(),
            "sharpness_every: the checkpoint records none, this run uses `5`"
        );
    }
}
