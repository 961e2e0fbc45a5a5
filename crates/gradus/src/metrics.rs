//! [`EpochMetrics`]: what a training epoch measured, and its row of the
//! metrics CSV (written and read back, so a resumed run keeps its history).

/// One epoch's row of the metrics CSV.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochMetrics {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Loss on the fixed monitoring subset of the training data.
    pub train_loss: f64,
    /// Accuracy on that subset.
    pub train_accuracy: f64,
    /// Loss on the test (validation) set.
    pub test_loss: f64,
    /// Accuracy on it.
    pub test_accuracy: f64,
    /// Top-5 accuracy on it.
    pub test_top5_accuracy: f64,
    /// The rate in force at the end of the epoch.
    pub lr: f64,
    /// Wall time of the epoch's training steps.
    pub seconds: f64,
    /// Global gradient norm per parameter, averaged over the epoch's steps.
    pub grad_norms: Vec<(String, f64)>,
    /// Per ReLU layer, the fraction of its units that output 0 for every
    /// example of the monitoring subset (after the epoch).
    pub dead_units: Vec<(String, f64)>,
    /// Per sigmoid or tanh layer, the fraction of its outputs on the
    /// monitoring subset in the saturated tails
    /// ([`SATURATION`](gradus_nn::SATURATION)).
    pub saturated: Vec<(String, f64)>,
    /// The epoch's last sharpness measurement when the trainer measures it
    /// ([`Trainer::with_sharpness`](crate::Trainer::with_sharpness); NaN if none fell in this epoch).
    pub sharpness: Option<f64>,
    /// The epoch's gradient-noise columns when the trainer measures them
    /// ([`Trainer::with_noise_scale`](crate::Trainer::with_noise_scale)):
    /// `noise_scale`, `grad_variance`, `example_grad_norm`.
    pub noise: Option<crate::NoiseColumns>,
    /// Whether the examples are bytes of text, so the losses (nats per
    /// byte) are also given in bits per byte: the `train_bpb` and
    /// `test_bpb` columns, loss / ln 2.
    pub bits_per_byte: bool,
    /// Steps skipped in the epoch because their loss or gradient was not
    /// finite, when the trainer may skip them
    /// ([`GradientRules::skip_nonfinite`](crate::GradientRules::skip_nonfinite)): the `skipped` column.
    pub skipped: Option<usize>,
    /// The test loss and accuracy of the exponential moving average of the
    /// weights, when the trainer keeps one
    /// ([`Trainer::with_ema`](crate::Trainer::with_ema)): the
    /// `ema_test_loss` and `ema_test_accuracy` columns.
    pub ema_test: Option<(f64, f64)>,
    /// The test loss and accuracy of the stochastic weight average, when
    /// the trainer keeps one ([`Trainer::with_swa`](crate::Trainer::with_swa);
    /// NaN before its first epoch): the `swa_test_loss` and
    /// `swa_test_accuracy` columns.
    pub swa_test: Option<(f64, f64)>,
    /// Each step's mini-batch loss, in order (for the per-step learning
    /// curve; not a column of the CSV, so empty for a row read back).
    pub step_losses: Vec<f64>,
}

impl EpochMetrics {
    /// The CSV header: docs/cli.md's columns, `test_top5_accuracy`,
    /// `sharpness` when measured, `noise_scale`, `grad_variance` and
    /// `example_grad_norm` when measured, `train_bpb` and `test_bpb` for text,
    /// `skipped` when steps may be skipped, `ema_test_loss` and
    /// `ema_test_accuracy` with an EMA, `swa_test_loss` and
    /// `swa_test_accuracy` with SWA, then `grad_norm:<parameter>` per
    /// parameter, `dead:<layer>` per ReLU and `saturated:<layer>` per
    /// sigmoid or tanh layer.
    pub fn csv_header(&self) -> String {
        let mut h =
            String::from("epoch,train_loss,train_accuracy,test_loss,test_accuracy,lr,seconds,test_top5_accuracy");
        if self.sharpness.is_some() {
            h.push_str(",sharpness");
        }
        if self.noise.is_some() {
            crate::NoiseColumns::NAMES.iter().for_each(|n| h.push_str(&format!(",{n}")));
        }
        if self.bits_per_byte {
            h.push_str(",train_bpb,test_bpb");
        }
        if self.skipped.is_some() {
            h.push_str(",skipped");
        }
        if self.ema_test.is_some() {
            h.push_str(",ema_test_loss,ema_test_accuracy");
        }
        if self.swa_test.is_some() {
            h.push_str(",swa_test_loss,swa_test_accuracy");
        }
        for (prefix, columns) in
            [("grad_norm", &self.grad_norms), ("dead", &self.dead_units), ("saturated", &self.saturated)]
        {
            for (name, _) in columns {
                h.push_str(&format!(",{prefix}:{name}"));
            }
        }
        h
    }

    /// Reads back a row written by [`EpochMetrics::csv_row`] under the
    /// header [`EpochMetrics::csv_header`] wrote (the learning curve of a
    /// resumed run is drawn from every epoch in its metrics.csv).
    ///
    /// ```
    /// # use gradus::EpochMetrics;
    /// let m = EpochMetrics { epoch: 2, train_loss: 0.5, train_accuracy: 0.8, test_loss: 0.6, test_accuracy: 0.75,
    ///     test_top5_accuracy: 0.99, lr: 0.01, seconds: 1.5, grad_norms: vec![("0.weight".into(), 0.25)],
    ///     dead_units: vec![("1".into(), 0.125)], saturated: vec![], sharpness: None, noise: None, bits_per_byte: false, skipped: None, ema_test: None, swa_test: None, step_losses: vec![] };
    /// assert_eq!(EpochMetrics::from_csv(&m.csv_header(), &m.csv_row()).unwrap(), m);
    /// let sharp = EpochMetrics { sharpness: Some(21.5), ..m.clone() };
    /// assert_eq!(EpochMetrics::from_csv(&sharp.csv_header(), &sharp.csv_row()).unwrap(), sharp);
    /// let noisy = EpochMetrics { noise: Some(gradus::NoiseColumns { noise_scale: 412.5, grad_variance: 0.25, example_grad_norm: 3.5 }), ..m.clone() };
    /// assert!(noisy.csv_header().contains(",noise_scale,grad_variance,example_grad_norm"));
    /// assert_eq!(EpochMetrics::from_csv(&noisy.csv_header(), &noisy.csv_row()).unwrap(), noisy);
    /// let text = EpochMetrics { bits_per_byte: true, ..m.clone() };
    /// assert!(text.csv_header().contains(",train_bpb,test_bpb"));
    /// assert_eq!(EpochMetrics::from_csv(&text.csv_header(), &text.csv_row()).unwrap(), text);
    /// assert!(EpochMetrics::from_csv(&m.csv_header(), "2,0.5").unwrap_err().contains("2 values under 10 columns"));
    /// ```
    ///
    /// # Errors
    /// A message naming the column whose value is missing or not a number.
    pub fn from_csv(header: &str, row: &str) -> Result<Self, String> {
        let (names, values): (Vec<&str>, Vec<&str>) = (header.split(',').collect(), row.split(',').collect());
        if names.len() != values.len() {
            return Err(format!("{} values under {} columns", values.len(), names.len()));
        }
        let number = |i: usize| -> Result<f64, String> {
            values[i].parse::<f64>().map_err(|_| format!("column {}: `{}` is not a number", names[i], values[i]))
        };
        let column = |name: &str| -> Result<f64, String> {
            let i = names.iter().position(|n| *n == name).ok_or_else(|| format!("no column {name}"))?;
            number(i)
        };
        let prefixed = |prefix: &str| -> Result<Vec<(String, f64)>, String> {
            let mut out = Vec::new();
            for (i, n) in names.iter().enumerate() {
                if let Some(layer) = n.strip_prefix(prefix).and_then(|r| r.strip_prefix(':')) {
                    out.push((layer.to_string(), number(i)?));
                }
            }
            Ok(out)
        };
        let epoch = column("epoch")?;
        if !(epoch >= 1.0 && epoch.fract() == 0.0 && epoch < 1e15) {
            return Err(format!("column epoch: `{epoch}` is not an epoch number"));
        }
        Ok(Self {
            epoch: epoch as usize,
            train_loss: column("train_loss")?,
            train_accuracy: column("train_accuracy")?,
            test_loss: column("test_loss")?,
            test_accuracy: column("test_accuracy")?,
            test_top5_accuracy: column("test_top5_accuracy")?,
            lr: column("lr")?,
            seconds: column("seconds")?,
            grad_norms: prefixed("grad_norm")?,
            dead_units: prefixed("dead")?,
            saturated: prefixed("saturated")?,
            sharpness: names.contains(&"sharpness").then(|| column("sharpness")).transpose()?,
            noise: names
                .contains(&"noise_scale")
                .then(|| {
                    let [noise_scale, grad_variance, example_grad_norm] = crate::NoiseColumns::NAMES;
                    Ok::<_, String>(crate::NoiseColumns {
                        noise_scale: column(noise_scale)?,
                        grad_variance: column(grad_variance)?,
                        example_grad_norm: column(example_grad_norm)?,
                    })
                })
                .transpose()?,
            bits_per_byte: names.contains(&"train_bpb"),
            skipped: names.contains(&"skipped").then(|| column("skipped").map(|n| n as usize)).transpose()?,
            ema_test: names
                .contains(&"ema_test_loss")
                .then(|| Ok::<_, String>((column("ema_test_loss")?, column("ema_test_accuracy")?)))
                .transpose()?,
            swa_test: names
                .contains(&"swa_test_loss")
                .then(|| Ok::<_, String>((column("swa_test_loss")?, column("swa_test_accuracy")?)))
                .transpose()?,
            step_losses: Vec::new(),
        })
    }

    /// The training loss in bits per byte (of a text model's loss in nats).
    pub fn train_bpb(&self) -> f64 {
        self.train_loss / std::f64::consts::LN_2
    }

    /// The test loss in bits per byte.
    pub fn test_bpb(&self) -> f64 {
        self.test_loss / std::f64::consts::LN_2
    }

    /// The CSV row, numbers in shortest round-trip form.
    pub fn csv_row(&self) -> String {
        let mut r = format!(
            "{},{},{},{},{},{},{},{}",
            self.epoch,
            self.train_loss,
            self.train_accuracy,
            self.test_loss,
            self.test_accuracy,
            self.lr,
            self.seconds,
            self.test_top5_accuracy
        );
        if let Some(s) = self.sharpness {
            r.push_str(&format!(",{s}"));
        }
        for v in self.noise.iter().flat_map(|n| n.values()) {
            r.push_str(&format!(",{v}"));
        }
        if self.bits_per_byte {
            r.push_str(&format!(",{},{}", self.train_bpb(), self.test_bpb()));
        }
        if let Some(n) = self.skipped {
            r.push_str(&format!(",{n}"));
        }
        for (loss, accuracy) in self.ema_test.iter().chain(&self.swa_test) {
            r.push_str(&format!(",{loss},{accuracy}"));
        }
        for (_, n) in self.grad_norms.iter().chain(&self.dead_units).chain(&self.saturated) {
            r.push_str(&format!(",{n}"));
        }
        r
    }
}
