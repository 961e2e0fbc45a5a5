//! A progress bar with rate and time left on long work, drawn only when
//! standard error is a terminal: piped or redirected, the commands print
//! nothing more than their usual lines.

/// A bar over `len` units of work, or nothing off a terminal.
pub struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    /// `what` names the work (`epoch 1/10`, `lanczos`), `unit` its units
    /// (`batches`, `Hessian products`).
    pub fn new(len: usize, what: &str, unit: &str) -> Self {
        if !std::io::IsTerminal::is_terminal(&std::io::stderr()) || !crate::ranks::speaks() {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::new(len as u64);
        let template = format!("{{prefix}} [{{bar:30}}] {{pos}}/{{len}} {unit}, {{per_sec}}, {{eta}} left {{msg}}");
        bar.set_style(
            indicatif::ProgressStyle::with_template(&template).expect("a valid template").progress_chars("=> "),
        );
        bar.set_prefix(what.to_string());
        Progress(Some(bar))
    }

    /// `done` units finished.
    pub fn set(&self, done: usize) {
        if let Some(b) = &self.0 {
            b.set_position(done as u64);
        }
    }

    /// The work is `len` units after all (known once it starts).
    pub fn set_len(&self, len: usize) {
        if let Some(b) = &self.0 {
            b.set_length(len as u64);
        }
    }

    /// One more unit finished.
    pub fn tick(&self) {
        if let Some(b) = &self.0 {
            b.inc(1);
        }
    }

    /// Clears the bar now (the work is done; output follows).
    pub fn clear(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }

    /// A short note after the counts (the last loss, say).
    pub fn message(&self, text: String) {
        if let Some(b) = &self.0 {
            b.set_message(text);
        }
    }
}

/// The bar is cleared however the work ends, so the lines that follow
/// start on a clean line.
impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}
