//! The kubelet's `$(VAR)` expansion in environment values, commands and arguments: a
//! reference to a defined variable becomes its value, `$$` becomes `$`, and anything else
//! (an undefined variable, an unclosed `$(`) stays as written.

/// `text` with the variables of `lookup` expanded.
pub fn expand(text: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(close) = inner.find(')')
        {
            let name = &inner[..close];
            match lookup(name) {
                Some(value) => out.push_str(&value),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = &inner[close + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "NODE" => Some("kube-node-1".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn kubelet_expansion_rules() {
        for (input, want) in [
            ("--node=$(NODE)", "--node=kube-node-1"),
            ("$(NODE)$(NODE)", "kube-node-1kube-node-1"),
            ("a$(EMPTY)b", "ab"),
            ("$(MISSING)", "$(MISSING)"),
            ("$$(NODE)", "$(NODE)"),
            ("cost: $$5", "cost: $5"),
            ("$(NODE", "$(NODE"),
            ("trailing $", "trailing $"),
            ("$x", "$x"),
            ("", ""),
        ] {
            assert_eq!(expand(input, env), want, "{input:?}");
        }
    }
}
