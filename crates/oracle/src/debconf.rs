//! The sandbox's debconf: `templates` parsed into the answers `db_get` may give, and the
//! `confmodule` shell library that gives them.
//!
//! Each script run sources its own copy of the functions, so an answer is drawn once per run
//! and question (from the sequence's seeded generator) and kept for the rest of that run, as
//! debconf's database would; `db_set` overrides it. Everything else (`db_input`, `db_go`, ...)
//! succeeds and does nothing.

use crate::sandbox::sh_quote;

/// What `db_get` may answer for one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answers {
    /// One of these (select, boolean).
    OneOf(Vec<String>),
    /// Any subset of these, joined with `, ` (multiselect).
    SubsetOf(Vec<String>),
}

/// Question name and its possible answers, from a debconf `templates` file.
pub fn parse_templates(text: &str) -> Vec<(String, Answers)> {
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in para.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some((_, v)) = fields.last_mut() {
                    v.push('\n');
                    v.push_str(line.trim());
                }
                continue;
            }
            if let Some((k, v)) = line.split_once(':') {
                fields.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let get = |k: &str| {
            fields
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let Some(name) = get("template") else {
            continue;
        };
        let choices = get("choices-c")
            .or(get("choices"))
            .map(split_choices)
            .unwrap_or_default();
        let default = get("default").unwrap_or_default().to_string();
        let answers = match get("type").unwrap_or_default() {
            "boolean" => Answers::OneOf(vec!["true".into(), "false".into()]),
            "select" if !choices.is_empty() => Answers::OneOf(choices),
            "multiselect" if !choices.is_empty() => Answers::SubsetOf(choices),
            "string" | "password" => Answers::OneOf(vec![default]),
            _ => Answers::OneOf(vec![String::new()]),
        };
        out.push((name.to_string(), answers));
    }
    out
}

/// debconf's list syntax: comma-separated, `\,` for a literal comma.
fn split_choices(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                cur.push(',');
                chars.next();
            }
            ',' => out.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(c),
        }
    }
    out.push(cur.trim().to_string());
    out.retain(|c| !c.is_empty());
    out
}

/// The `confmodule` text for these questions. It expects `common.sh` (the generator) to be
/// sourceable at `/.oracle/lib/common.sh`.
pub fn confmodule(questions: &[(String, Answers)]) -> String {
    let mut s = String::from(
        "# debgate oracle: debconf stand-in (answers drawn per run from the case's templates)\n\
         . /.oracle/lib/common.sh\n",
    );
    // __oracle_q NAME: sets __q to the question's index, or returns 1.
    s.push_str("__oracle_q() {\n    case \"$1\" in\n");
    for (i, (name, _)) in questions.iter().enumerate() {
        s.push_str(&format!("    {}) __q={i} ;;\n", sh_quote(name)));
    }
    s.push_str("    *) return 1 ;;\n    esac\n}\n");
    // __oracle_draw INDEX: sets RET to a fresh answer.
    s.push_str("__oracle_draw() {\n    RET=\n    case \"$1\" in\n");
    for (i, (_, answers)) in questions.iter().enumerate() {
        s.push_str(&format!("    {i})\n"));
        match answers {
            Answers::OneOf(values) if values.len() == 1 => {
                s.push_str(&format!("        RET={}\n", sh_quote(&values[0])));
            }
            Answers::OneOf(values) => {
                s.push_str(&format!(
                    "        oracle_rand\n        case $((__r % {})) in\n",
                    values.len()
                ));
                for (j, v) in values.iter().enumerate() {
                    s.push_str(&format!("        {j}) RET={} ;;\n", sh_quote(v)));
                }
                s.push_str("        esac\n");
            }
            Answers::SubsetOf(values) => {
                for v in values {
                    s.push_str(&format!(
                        "        oracle_rand\n        if [ $((__r % 2)) = 0 ]; then RET=\"${{RET:+$RET, }}\"{}; fi\n",
                        sh_quote(v)
                    ));
                }
            }
        }
        s.push_str("        ;;\n");
    }
    s.push_str("    esac\n}\n");
    s.push_str(CONFMODULE_FUNCTIONS);
    s
}

const CONFMODULE_FUNCTIONS: &str = r#"db_get() {
    if __oracle_q "$1"; then
        if eval "[ \"\${__oracle_set_$__q+x}\" = x ]"; then
            eval "RET=\$__oracle_set_$__q"
        else
            __oracle_draw "$__q"
            eval "__oracle_set_$__q=\$RET"
        fi
        oracle_log "db_get $1 -> $RET"
    else
        RET=
        oracle_log "db_get $1 (no template) -> ''"
    fi
    return 0
}
db_set() {
    if __oracle_q "$1"; then
        eval "__oracle_set_$__q=\$2"
    fi
    RET=
    return 0
}
db_reset() { if __oracle_q "$1"; then eval "unset __oracle_set_$__q"; fi; RET=; return 0; }
db_fget() { oracle_rand; if [ $((__r % 2)) = 0 ]; then RET=true; else RET=false; fi; return 0; }
db_metaget() { RET=; return 0; }
db_version() { RET=2.0; return 0; }
db_capb() { RET=; return 0; }
db_input() { RET=; return 0; }
db_go() { RET=; return 0; }
db_stop() { return 0; }
db_fset() { return 0; }
db_subst() { return 0; }
db_title() { return 0; }
db_settitle() { return 0; }
db_beginblock() { return 0; }
db_endblock() { return 0; }
db_register() { return 0; }
db_unregister() { return 0; }
db_purge() { return 0; }
db_clear() { return 0; }
db_info() { return 0; }
db_progress() { return 0; }
db_data() { return 0; }
db_x_loadtemplatefile() { return 0; }
db_x_save() { return 0; }
db_x_setbackup() { return 0; }
db_previous_module() { return 0; }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_types_choices_and_escapes() {
        let t = "Template: p/mode\nType: select\nChoices: setuid, caps\\, really, none\n\
                 Choices-de.UTF-8: a, b, c\nDescription: x\n more\n\n\
                 Template: p/ok\nType: boolean\nDefault: true\n\n\
                 Template: p/c\nType: select\nChoices-C: one, two\nChoices: Eins, Zwei\n\n\
                 Template: p/m\nType: multiselect\nChoices: a, b\n\n\
                 Template: p/s\nType: string\nDefault: 0750\n\n\
                 Template: p/n\nType: note\n";
        let q = parse_templates(t);
        assert_eq!(q.len(), 6);
        assert_eq!(
            q[0].1,
            Answers::OneOf(vec!["setuid".into(), "caps, really".into(), "none".into()])
        );
        assert_eq!(q[1].1, Answers::OneOf(vec!["true".into(), "false".into()]));
        assert_eq!(q[2].1, Answers::OneOf(vec!["one".into(), "two".into()]));
        assert_eq!(q[3].1, Answers::SubsetOf(vec!["a".into(), "b".into()]));
        assert_eq!(q[4].1, Answers::OneOf(vec!["0750".into()]));
        assert_eq!(q[5].1, Answers::OneOf(vec![String::new()]));
        let text = confmodule(&q);
        assert!(text.contains("'p/mode') __q=0 ;;"));
        assert!(text.contains("RET='caps, really'"));
    }
}
