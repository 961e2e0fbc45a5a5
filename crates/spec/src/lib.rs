//! gradus-spec: the spec strings of the `gradus` command line,
//! `name(key=value, …)` (docs/cli.md), shared by optimisers, schedules
//! and models.
//!
//! Values are numbers (`1e-3`, `-2.5`), `true`/`false`, bare words (`cos`),
//! tuples `(0.9,0.999)`, lists `[50,120,200]` and nested specs
//! (`sequential([linear(total_iters=5), cosine(t_max=95)], milestones=[5])`).
//! [`Args`] hands the arguments out by key with errors that name the spec,
//! the key and what is accepted; unknown keys and positional overflow are
//! errors, never ignored.
//!
//! ```
//! use gradus_spec::Spec;
//! let spec: Spec = "step(step_size=30, gamma=0.5)".parse().unwrap();
//! assert_eq!(spec.name, "step");
//! let mut args = spec.args(&["step_size", "gamma"]).unwrap();
//! assert_eq!(args.usize("step_size").unwrap(), 30);
//! assert_eq!(args.f64_or("gamma", 0.1).unwrap(), 0.5);
//! let bad: Spec = "step(step_size=30, gama=0.5)".parse().unwrap();
//! let err = bad.args(&["step_size", "gamma"]).unwrap_err().to_string();
//! assert_eq!(err, "step(step_size=30, gama=0.5): unknown key `gama`; accepted: step_size, gamma");
//! ```

mod coverage;
pub use coverage::{check_names, check_parser, matched_names};

use std::fmt;
use std::str::FromStr;

/// A parsed value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A number.
    Number(f64),
    /// `true` or `false`.
    Bool(bool),
    /// A bare word.
    Word(String),
    /// `(a, b, …)`.
    Tuple(Vec<Value>),
    /// `[a, b, …]`.
    List(Vec<Value>),
    /// A nested spec.
    Spec(Spec),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Number(_) => "a number",
            Value::Bool(_) => "true/false",
            Value::Word(_) => "a word",
            Value::Tuple(_) => "a tuple",
            Value::List(_) => "a list",
            Value::Spec(_) => "a spec",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |v: &[Value]| v.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
        match self {
            // Shortest round-trip either way; very large and very small
            // magnitudes in scientific form (1e-300, not 0.000…0001).
            Value::Number(x) if *x != 0.0 && !(1e-4..1e16).contains(&x.abs()) => write!(f, "{x:e}"),
            Value::Number(x) => write!(f, "{x}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Word(w) => f.write_str(w),
            Value::Tuple(v) => write!(f, "({})", join(v)),
            Value::List(v) => write!(f, "[{}]", join(v)),
            // A nested spec without arguments keeps its parentheses: bare,
            // it would read back as a word.
            Value::Spec(s) if s.args.is_empty() => write!(f, "{}()", s.name),
            Value::Spec(s) => write!(f, "{s}"),
        }
    }
}

/// `name(args…)`: positional arguments (key `None`) and `key=value` pairs.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// The name before the parenthesis.
    pub name: String,
    /// The arguments in order.
    pub args: Vec<(Option<String>, Value)>,
}

/// What is wrong with a spec string.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{spec}: {message}")]
pub struct SpecError {
    /// The spec (as written, or re-printed).
    pub spec: String,
    /// What is wrong, and what is accepted.
    pub message: String,
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if self.args.is_empty() {
            return Ok(());
        }
        let args: Vec<String> = self
            .args
            .iter()
            .map(|(k, v)| match k {
                Some(k) => format!("{k}={v}"),
                None => v.to_string(),
            })
            .collect();
        write!(f, "({})", args.join(", "))
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, message: impl Into<String>) -> SpecError {
        SpecError { spec: self.src.to_string(), message: format!("{} (at character {})", message.into(), self.pos + 1) }
    }

    fn skip_ws(&mut self) {
        while self.src[self.pos..].starts_with(char::is_whitespace) {
            self.pos += self.src[self.pos..].chars().next().map_or(1, char::len_utf8);
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.src[self.pos..].chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn token(&mut self) -> &str {
        self.skip_ws();
        let start = self.pos;
        let rest = &self.src[start..];
        let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || "_.+-".contains(c))).unwrap_or(rest.len());
        // A sign or exponent sign inside a number is part of it; elsewhere `-` cannot start a word anyway.
        self.pos += len;
        &self.src[start..start + len]
    }

    fn spec(&mut self) -> Result<Spec, SpecError> {
        let name = self.token().to_string();
        if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(self.err(format!("expected a lower-case name, found `{name}`")));
        }
        let mut args = Vec::new();
        if self.eat('(') && !self.eat(')') {
            loop {
                args.push(self.arg()?);
                if self.eat(')') {
                    break;
                }
                if !self.eat(',') {
                    return Err(self.err("expected `,` or `)`"));
                }
            }
        }
        Ok(Spec { name, args })
    }

    fn arg(&mut self) -> Result<(Option<String>, Value), SpecError> {
        let save = self.pos;
        let word = self.token().to_string();
        if !word.is_empty() && word.starts_with(|c: char| c.is_ascii_lowercase()) && self.eat('=') {
            return Ok((Some(word), self.value()?));
        }
        self.pos = save;
        Ok((None, self.value()?))
    }

    fn values(&mut self, close: char) -> Result<Vec<Value>, SpecError> {
        let mut out = Vec::new();
        if self.eat(close) {
            return Ok(out);
        }
        loop {
            out.push(self.value()?);
            if self.eat(close) {
                return Ok(out);
            }
            if !self.eat(',') {
                return Err(self.err(format!("expected `,` or `{close}`")));
            }
        }
    }

    fn value(&mut self) -> Result<Value, SpecError> {
        match self.peek() {
            Some('(') => {
                self.pos += 1;
                Ok(Value::Tuple(self.values(')')?))
            }
            Some('[') => {
                self.pos += 1;
                Ok(Value::List(self.values(']')?))
            }
            None => Err(self.err("expected a value, found the end")),
            _ => {
                let save = self.pos;
                let tok = self.token().to_string();
                match tok.as_str() {
                    "" => Err(self.err("expected a value")),
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    _ if tok.starts_with(|c: char| c.is_ascii_lowercase()) => {
                        if self.peek() == Some('(') {
                            self.pos = save;
                            Ok(Value::Spec(self.spec()?))
                        } else {
                            Ok(Value::Word(tok))
                        }
                    }
                    // `NaN`, `Inf` and `RELU` are words (which the key then
                    // refuses, listing what it takes), not numbers.
                    _ if tok.starts_with(|c: char| c.is_ascii_alphabetic()) => Ok(Value::Word(tok)),
                    _ => match tok.parse::<f64>() {
                        Ok(x) if x.is_finite() => Ok(Value::Number(x)),
                        Ok(_) => {
                            self.pos = save;
                            Err(self.err(format!(
                                "`{tok}` is not a finite number (an f64 lies within ±1.7976931348623157e308)"
                            )))
                        }
                        Err(_) => {
                            self.pos = save;
                            Err(self.err(format!("`{tok}` is not a number, true/false, a word, a tuple or a list")))
                        }
                    },
                }
            }
        }
    }
}

impl FromStr for Spec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut p = Parser { src: s, pos: 0 };
        let spec = p.spec()?;
        if p.peek().is_some() {
            return Err(p.err("unexpected text after the spec"));
        }
        Ok(spec)
    }
}

impl Spec {
    /// The arguments, checked against `keys` (positional ones take the keys
    /// in order), ready to be taken by key.
    ///
    /// # Errors
    /// An unknown key, a key given twice, or more positional arguments than keys.
    pub fn args(&self, keys: &[&'static str]) -> Result<Args, SpecError> {
        let mut taken: Vec<(&'static str, Value)> = Vec::new();
        let accepted = if keys.is_empty() {
            format!("{} takes no arguments (write it as `{}`)", self.name, self.name)
        } else {
            format!("accepted: {}", keys.join(", "))
        };
        for (i, (key, value)) in self.args.iter().enumerate() {
            let key = match key {
                Some(k) => *keys
                    .iter()
                    .find(|known| *known == k)
                    .ok_or_else(|| self.error(format!("unknown key `{k}`; {accepted}")))?,
                None => *keys.get(i).ok_or_else(|| {
                    self.error(format!("too many positional arguments ({} given); {accepted}", i + 1))
                })?,
            };
            if taken.iter().any(|(k, _)| *k == key) {
                return Err(self.error(format!("`{key}` given twice")));
            }
            taken.push((key, value.clone()));
        }
        Ok(Args { spec: self.to_string(), values: taken })
    }

    /// An error about this spec.
    pub fn error(&self, message: impl Into<String>) -> SpecError {
        SpecError { spec: self.to_string(), message: message.into() }
    }
}

/// A spec's arguments by key; each getter names the key and the expected
/// kind when the value does not fit.
#[derive(Clone, Debug)]
pub struct Args {
    spec: String,
    values: Vec<(&'static str, Value)>,
}

impl Args {
    fn err(&self, key: &str, message: String) -> SpecError {
        SpecError { spec: self.spec.clone(), message: format!("`{key}` {message}") }
    }

    /// The raw value of `key`, if given.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    fn need(&self, key: &str) -> Result<&Value, SpecError> {
        self.get(key).ok_or_else(|| self.err(key, "is required".into()))
    }

    fn number(&self, key: &str, v: &Value) -> Result<f64, SpecError> {
        match v {
            Value::Number(x) => Ok(*x),
            other => Err(self.err(key, format!("must be a number, got {} `{other}`", other.kind()))),
        }
    }

    /// A required number.
    ///
    /// # Errors
    /// If missing or not a number.
    pub fn f64(&mut self, key: &str) -> Result<f64, SpecError> {
        let v = self.need(key)?.clone();
        self.number(key, &v)
    }

    /// A number with a default.
    ///
    /// # Errors
    /// If given and not a number.
    pub fn f64_or(&mut self, key: &str, default: f64) -> Result<f64, SpecError> {
        match self.get(key).cloned() {
            Some(v) => self.number(key, &v),
            None => Ok(default),
        }
    }

    /// A number or a missing value (`None`).
    ///
    /// # Errors
    /// If given and not a number.
    pub fn f64_opt(&mut self, key: &str) -> Result<Option<f64>, SpecError> {
        self.get(key).cloned().map(|v| self.number(key, &v)).transpose()
    }

    /// A required non-negative integer.
    ///
    /// # Errors
    /// If missing, not a number, negative or fractional.
    pub fn usize(&mut self, key: &str) -> Result<usize, SpecError> {
        let x = self.f64(key)?;
        self.to_usize(key, x)
    }

    /// A non-negative integer with a default.
    ///
    /// # Errors
    /// If given and not a non-negative integer.
    pub fn usize_or(&mut self, key: &str, default: usize) -> Result<usize, SpecError> {
        match self.f64_opt(key)? {
            Some(x) => self.to_usize(key, x),
            None => Ok(default),
        }
    }

    fn to_usize(&self, key: &str, x: f64) -> Result<usize, SpecError> {
        if x >= 0.0 && x.fract() == 0.0 && x < 2f64.powi(53) {
            Ok(x as usize)
        } else {
            Err(self.err(key, format!("must be a non-negative integer below 2^53, got {}", Value::Number(x))))
        }
    }

    /// true/false with a default.
    ///
    /// # Errors
    /// If given and not true/false.
    pub fn bool_or(&mut self, key: &str, default: bool) -> Result<bool, SpecError> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(self.err(key, format!("must be true or false, got {} `{other}`", other.kind()))),
        }
    }

    /// One of `choices` (bare words), with a default.
    ///
    /// # Errors
    /// If given and not one of them.
    pub fn word_or(
        &mut self,
        key: &str,
        choices: &[&'static str],
        default: &'static str,
    ) -> Result<&'static str, SpecError> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Word(w)) => choices
                .iter()
                .find(|c| *c == w)
                .copied()
                .ok_or_else(|| self.err(key, format!("must be one of {}, got `{w}`", choices.join(", ")))),
            Some(other) => {
                Err(self.err(key, format!("must be one of {}, got {} `{other}`", choices.join(", "), other.kind())))
            }
        }
    }

    /// A list (or tuple) of numbers, required.
    ///
    /// # Errors
    /// If missing or not a list of numbers.
    pub fn numbers(&mut self, key: &str) -> Result<Vec<f64>, SpecError> {
        match self.need(key)?.clone() {
            Value::List(items) | Value::Tuple(items) => items.iter().map(|v| self.number(key, v)).collect(),
            other => Err(self.err(key, format!("must be a list of numbers, got {} `{other}`", other.kind()))),
        }
    }

    /// A list of nested specs, required.
    ///
    /// # Errors
    /// If missing or not a list of specs.
    pub fn specs(&mut self, key: &str) -> Result<Vec<Spec>, SpecError> {
        match self.need(key)?.clone() {
            Value::List(items) => items
                .into_iter()
                .map(|v| match v {
                    Value::Spec(s) => Ok(s),
                    Value::Word(w) => Ok(Spec { name: w, args: Vec::new() }),
                    other => Err(self.err(key, format!("must list specs, got {} `{other}`", other.kind()))),
                })
                .collect(),
            other => Err(self.err(key, format!("must be a list of specs, got {} `{other}`", other.kind()))),
        }
    }

    /// A nested spec (a bare word is a spec without arguments), or
    /// `default` parsed when the key is not given.
    ///
    /// # Errors
    /// If given and not a spec.
    pub fn spec_or(&mut self, key: &str, default: &str) -> Result<Spec, SpecError> {
        match self.get(key) {
            None => default.parse(),
            Some(Value::Spec(s)) => Ok(s.clone()),
            Some(Value::Word(w)) => Ok(Spec { name: w.clone(), args: Vec::new() }),
            Some(other) => {
                Err(self.err(key, format!("must be a spec such as `{default}`, got {} `{other}`", other.kind())))
            }
        }
    }

    /// An error about a key's value that the getters cannot see (a range).
    pub fn invalid(&self, key: &str, message: impl fmt::Display) -> SpecError {
        self.err(key, message.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Spec {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn every_kind_of_value() {
        let s = parse("adam(lr=1e-3, betas=(0.9,0.999), amsgrad=true, mode=cos, milestones=[50, 120], -2.5)");
        assert_eq!(s.name, "adam");
        assert_eq!(s.args[0], (Some("lr".into()), Value::Number(1e-3)));
        assert_eq!(s.args[1].1, Value::Tuple(vec![Value::Number(0.9), Value::Number(0.999)]));
        assert_eq!(s.args[2].1, Value::Bool(true));
        assert_eq!(s.args[3].1, Value::Word("cos".into()));
        assert_eq!(s.args[4].1, Value::List(vec![Value::Number(50.0), Value::Number(120.0)]));
        assert_eq!(s.args[5], (None, Value::Number(-2.5)));
        assert_eq!(parse("constant"), Spec { name: "constant".into(), args: vec![] });
        assert_eq!(parse("  sgd ( lr = 0.1 )  ").args, vec![(Some("lr".into()), Value::Number(0.1))]);
    }

    #[test]
    fn nested_specs_and_round_trip() {
        let s = parse("sequential([linear(total_iters=5), cosine(t_max=95)], milestones=[5])");
        let mut args = s.args(&["schedulers", "milestones"]).unwrap();
        let inner = args.specs("schedulers").unwrap();
        assert_eq!(inner[1].to_string(), "cosine(t_max=95)");
        assert_eq!(args.numbers("milestones").unwrap(), vec![5.0]);
        assert_eq!(parse(&s.to_string()), s);
        // Found by the spec fuzz target: `m(zz())` printed as `m(zz)`, which
        // reads back with a word where the spec had a nested spec.
        for text in ["m((m(zz-())))", "seq(relu(), flatten)", "sequential([constant()], milestones=[])"] {
            let s = parse(text);
            assert_eq!(parse(&s.to_string()), s, "{text} printed as {s}");
        }
    }

    #[test]
    fn errors_name_the_problem() {
        let e = |s: &str| s.parse::<Spec>().unwrap_err().to_string();
        assert_eq!(e("sgd(lr=0.1"), "sgd(lr=0.1: expected `,` or `)` (at character 11)");
        assert_eq!(e("sgd(lr=abc!)"), "sgd(lr=abc!): expected `,` or `)` (at character 11)");
        assert_eq!(e("Sgd"), "Sgd: expected a lower-case name, found `Sgd` (at character 4)");
        assert!(e("sgd(lr=1x)").contains("`1x` is not a number"));
        assert_eq!(e("sgd() extra"), "sgd() extra: unexpected text after the spec (at character 7)");
        assert_eq!(
            e("adam(lr=1e400)"),
            "adam(lr=1e400): `1e400` is not a finite number (an f64 lies within ±1.7976931348623157e308) (at character 9)"
        );
        assert!(e("adam(lr=-inf)").contains("`-inf` is not a finite number"));
        assert!(e("adam(lr=-1e309)").contains("`-1e309` is not a finite number"));
        for word in ["nan", "NaN", "inf", "Infinity", "RELU"] {
            assert_eq!(parse(&format!("f(x={word})")).args[0].1, Value::Word(word.into()));
        }
        let s = parse("step(30, 0.1, 7)");
        assert_eq!(
            s.args(&["step_size", "gamma"]).unwrap_err().to_string(),
            "step(30, 0.1, 7): too many positional arguments (3 given); accepted: step_size, gamma"
        );
        let mut a = parse("step(step_size=2.5, mode=fast, gamma=true)").args(&["step_size", "gamma", "mode"]).unwrap();
        assert_eq!(
            a.usize("step_size").unwrap_err().to_string(),
            "step(step_size=2.5, mode=fast, gamma=true): `step_size` must be a non-negative integer below 2^53, got 2.5"
        );
        assert!(a.f64("gamma").unwrap_err().to_string().ends_with("`gamma` must be a number, got true/false `true`"));
        assert!(
            a.word_or("mode", &["slow", "steady"], "slow")
                .unwrap_err()
                .to_string()
                .ends_with("`mode` must be one of slow, steady, got `fast`")
        );
        let mut b = parse("step(gamma=0.1)").args(&["step_size", "gamma"]).unwrap();
        assert!(b.usize("step_size").unwrap_err().to_string().ends_with("`step_size` is required"));
        assert!(
            parse("step(gamma=1, gamma=2)").args(&["gamma"]).unwrap_err().to_string().ends_with("`gamma` given twice")
        );
    }
}
