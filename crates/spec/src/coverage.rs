//! Ties a parser's published list of names to the `match` that parses
//! them, so a name without an arm, or an arm without a listed name, fails
//! a test instead of being found by a user.

/// The names taken by the arms of every `match spec.name.as_str()` in
/// `source`: the string literals of the arms directly under such a match
/// (`"sgd" =>`, `name @ ("adam" | "adamw") =>`), not of matches nested
/// inside an arm, up to the catch-all arm.
///
/// ```
/// let src = "match spec.name.as_str() {\n    \"a\" => 1,\n    n @ (\"b\" | \"c\") => 2,\n    other => 0,\n}";
/// assert_eq!(gradus_spec::matched_names(src), ["a", "b", "c"]);
/// ```
pub fn matched_names(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut arms_at: Option<usize> = None;
    for line in source.lines() {
        let indent = line.len() - line.trim_start().len();
        let text = line.trim();
        if text.ends_with("match spec.name.as_str() {") {
            arms_at = Some(indent + 4);
            continue;
        }
        let Some(at) = arms_at else { continue };
        if indent < at && !text.is_empty() {
            arms_at = None;
            continue;
        }
        if indent != at {
            continue;
        }
        let Some((pattern, _)) = text.split_once("=>") else { continue };
        let pattern = pattern.trim();
        let pattern = pattern.split_once(" @ ").map_or(pattern, |(_, p)| p);
        let pattern = pattern.trim_start_matches('(').trim_end_matches(')');
        let literals: Option<Vec<String>> = pattern
            .split('|')
            .map(|p| p.trim().strip_prefix('"').and_then(|p| p.strip_suffix('"')).map(str::to_string))
            .collect();
        match literals {
            Some(l) => names.extend(l),
            // The catch-all (`other =>`, `_ =>`) ends the arms.
            None => arms_at = None,
        }
    }
    names
}

/// Checks that `listed` and the names [`matched_names`] finds in `source`
/// are the same set; the error names every name on one side only.
///
/// # Errors
/// A listed name without an arm, or an arm whose name is not listed.
///
/// ```
/// let src = "match spec.name.as_str() {\n    \"a\" => 1,\n    \"b\" => 2,\n    other => 0,\n}";
/// assert!(gradus_spec::check_names(src, &["a", "b"]).is_ok());
/// assert_eq!(gradus_spec::check_names(src, &["a"]).unwrap_err(), "`b` has an arm but is not listed");
/// ```
pub fn check_names(source: &str, listed: &[&str]) -> Result<(), String> {
    let arms = matched_names(source);
    let mut problems: Vec<String> = arms
        .iter()
        .filter(|a| !listed.contains(&a.as_str()))
        .map(|a| format!("`{a}` has an arm but is not listed"))
        .collect();
    problems.extend(
        listed.iter().filter(|n| !arms.iter().any(|a| a == *n)).map(|n| format!("`{n}` is listed but has no arm")),
    );
    if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
}

/// [`check_names`], and that the parser knows every listed name: `parse`
/// of each either succeeds or fails with a message that does not contain
/// `unknown` (the parser's message for a name it does not know, which a
/// name no list holds must produce).
///
/// # Errors
/// What [`check_names`] finds, a listed name the parser calls unknown, or
/// a parser that does not say `unknown` for an unknown name.
pub fn check_parser(
    source: &str,
    listed: &[&str],
    unknown: &str,
    parse: impl Fn(&str) -> Result<(), String>,
) -> Result<(), String> {
    check_names(source, listed)?;
    let refused: Vec<String> = listed
        .iter()
        .filter(|n| parse(n).is_err_and(|e| e.contains(unknown)))
        .map(|n| format!("`{n}` is listed but the parser calls it unknown"))
        .collect();
    if !refused.is_empty() {
        return Err(refused.join("; "));
    }
    match parse("no_such_name") {
        Err(e) if e.contains(unknown) => Ok(()),
        other => Err(format!("the parser does not say `{unknown}` for an unknown name: {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARSER: &str = r#"
pub fn parse(spec: &Spec) -> u32 {
    let n = match spec.name.as_str() {
        "one" => {
            let mode = match word {
                "inner" => 1,
                _ => 2,
            };
            mode
        }
        name @ ("two" | "three") => 2,
        other => return 0,
    };
    match spec.name.as_str() {
        "four" => 4,
        _ => 0,
    }
}
"#;

    #[test]
    fn arms_directly_under_each_match_and_not_nested_ones() {
        assert_eq!(matched_names(PARSER), ["one", "two", "three", "four"]);
    }

    #[test]
    fn a_name_on_one_side_only_is_reported() {
        assert!(check_names(PARSER, &["four", "three", "two", "one"]).is_ok());
        let missing_arm = check_names(PARSER, &["one", "two", "three", "four", "five"]).unwrap_err();
        assert_eq!(missing_arm, "`five` is listed but has no arm");
        let unlisted = check_names(PARSER, &["one", "two", "four"]).unwrap_err();
        assert_eq!(unlisted, "`three` has an arm but is not listed");
    }

    #[test]
    fn the_parser_must_know_every_listed_name() {
        let names = ["one", "two", "three", "four"];
        let knows = |n: &str| if names.contains(&n) { Ok(()) } else { Err(format!("unknown thing `{n}`")) };
        assert!(check_parser(PARSER, &names, "unknown thing", knows).is_ok());
        let forgets =
            |n: &str| if n == "two" || !names.contains(&n) { Err(format!("unknown thing `{n}`")) } else { Ok(()) };
        let err = check_parser(PARSER, &names, "unknown thing", forgets).unwrap_err();
        assert_eq!(err, "`two` is listed but the parser calls it unknown");
    }
}
