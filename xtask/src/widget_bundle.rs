//! What the widget's bytes go through after trunk (cargo + wasm-bindgen): the wasm is
//! shrunk with `wasm-opt` and its JS glue rewritten to match, then minified.
//!
//! - Leptos always links `server_fn`'s browser streaming (wasm-streams), whose
//!   `IntoUnderlying*` classes wasm-bindgen exports; the widget calls no server function, so
//!   those exports, their code and their JS classes are dropped.
//! - Every import and export is renamed to one or two characters (wasm-bindgen's names carry
//!   a 16-digit hash each, written in both files), and the glue is rewritten to the new names.
//!
//! The glue is checked afterwards: a name it still uses that the wasm no longer has fails the
//! build here, not in a visitor's browser.

use crate::Result;
use crate::setup::{Tools, output, run_visible};
use std::path::Path;
use std::process::Command;

/// Exports of server_fn's streaming bodies (never used by the widget).
const UNUSED_EXPORTS: &str = "*intounderlying*";
/// The classes wasm-bindgen writes into the glue for those exports.
const UNUSED_CLASSES: [&str; 3] = ["IntoUnderlyingByteSource", "IntoUnderlyingSink", "IntoUnderlyingSource"];
/// After `-Oz`: flatten and re-loop the control flow, then shrink again until nothing changes
/// (about 2% smaller than `-Oz` alone, measured). `--low-memory-unused` lets small constant
/// additions to an address become load/store offsets: they differ only for an address that
/// wraps around 4 GiB, which a Rust pointer never does (0.6 KB less, measured).
const OPTIMIZE: [&str; 7] = ["--low-memory-unused", "-Oz", "--flatten", "--rereloop", "-Oz", "-Oz", "--converge"];

/// Shrink `chat-widget_bg.wasm` and rewrite `chat-widget.js` in `dist`.
pub fn shrink(dist: &Path, tools: &Tools) -> Result<()> {
    let wasm = dist.join("chat-widget_bg.wasm");
    let glue = dist.join("chat-widget.js");
    let renamed = dist.join("chat-widget_bg.renamed.wasm");
    let wasm_opt = tools.npm_bin.join("wasm-opt");
    let map = output(
        Command::new(&wasm_opt)
            .arg(&wasm)
            .arg(format!("--remove-exports={UNUSED_EXPORTS}"))
            .arg("--minify-imports-and-exports-and-modules")
            .arg("-o")
            .arg(&renamed),
    )?;
    run_visible(Command::new(&wasm_opt).arg(&renamed).args(OPTIMIZE).arg("-o").arg(&wasm))?;
    std::fs::remove_file(&renamed).map_err(|e| format!("cannot remove {}: {e}", renamed.display()))?;
    let js = std::fs::read_to_string(&glue).map_err(|e| format!("cannot read {}: {e}", glue.display()))?;
    let module = std::fs::read(&wasm).ok().and_then(|bytes| import_module(&bytes));
    let module = module.ok_or_else(|| format!("cannot read the import module of {}", wasm.display()))?;
    let js = rename(&drop_unused_classes(&js)?, &Renames::parse(&map)?, &module)?;
    std::fs::write(&glue, js).map_err(|e| format!("cannot write {}: {e}", glue.display()))?;
    run_visible(
        Command::new(tools.npm_bin.join("esbuild"))
            .arg(&glue)
            .args(["--minify", "--format=esm", "--log-level=warning", "--allow-overwrite"])
            .arg(format!("--outfile={}", glue.display())),
    )
}

/// The renames wasm-opt made, read from the JSON it prints.
#[derive(Debug, Default, PartialEq)]
struct Renames {
    /// The import module's old name (wasm-bindgen uses one; the mapping does not say the new one).
    module: Option<String>,
    /// (old, new) import names.
    imports: Vec<(String, String)>,
    /// (old, new) export names.
    exports: Vec<(String, String)>,
}

impl Renames {
    /// Reads the first mapping printed (`--converge` or repeated passes print more).
    /// Its rows are arrays of plain identifiers: `["module", "name", "new_name"]` for an
    /// import, `["name", "new_name"]` for an export.
    fn parse(printed: &str) -> Result<Self> {
        let mut renames = Self::default();
        let mut section = "";
        for line in printed.lines() {
            let line = line.trim();
            if line.starts_with("\"imports\"") {
                section = "imports";
            } else if line.starts_with("\"exports\"") {
                section = "exports";
            } else if line == "}" {
                break;
            } else if line.starts_with('[') && line.len() > 1 {
                let strings: Vec<String> = line.split('"').skip(1).step_by(2).map(str::to_string).collect();
                match (section, strings.as_slice()) {
                    ("imports", [module, name, new]) => {
                        renames.module.get_or_insert_with(|| module.clone());
                        renames.imports.push((name.clone(), new.clone()));
                    }
                    ("exports", [name, new]) => renames.exports.push((name.clone(), new.clone())),
                    _ => return Err(format!("wasm-opt printed a rename this build does not understand: {line}")),
                }
            }
        }
        if renames.imports.is_empty() || renames.exports.is_empty() {
            return Err(format!("wasm-opt printed no renames:\n{printed}"));
        }
        Ok(renames)
    }
}

/// The glue with the renamed import module (now `module`), imports (the `name:` keys of the
/// imports object) and exports (`wasm.name`). Fails unless afterwards every export the glue
/// uses exists and every import is provided.
fn rename(js: &str, renames: &Renames, module: &str) -> Result<String> {
    let mut js = js.to_string();
    if let Some(old) = &renames.module {
        js = js.replace(&format!("\"{old}\""), &format!("\"{module}\""));
    }
    for (old, new) in &renames.imports {
        js = replace_word(&js, &format!("{old}:"), &format!("{new}:"));
    }
    for (old, new) in &renames.exports {
        js = replace_word(&js, &format!("wasm.{old}"), &format!("wasm.{new}"));
    }
    for (at, _) in js.match_indices("wasm.") {
        if js[..at].chars().next_back().is_some_and(is_ident) {
            continue;
        }
        let used = js[at + "wasm.".len()..].split(|c: char| !is_ident(c)).next().unwrap_or("");
        if !renames.exports.iter().any(|(_, new)| new == used) {
            return Err(format!("the widget's JS glue uses `wasm.{used}`, which the shrunk wasm does not export"));
        }
    }
    if let Some((old, _)) = renames.imports.iter().find(|(_, new)| find_word(&js, &format!("{new}:")).is_none()) {
        return Err(format!("the widget's JS glue no longer provides the import `{old}`"));
    }
    Ok(js)
}

/// The module name of the first import of a wasm binary.
fn import_module(wasm: &[u8]) -> Option<String> {
    let mut at = 8;
    let leb = |at: &mut usize| -> Option<usize> {
        let (mut value, mut shift) = (0usize, 0);
        loop {
            let byte = *wasm.get(*at)?;
            *at += 1;
            value |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
    };
    while at < wasm.len() {
        let id = wasm[at];
        at += 1;
        let size = leb(&mut at)?;
        if id == 2 {
            leb(&mut at)?;
            let length = leb(&mut at)?;
            return String::from_utf8(wasm.get(at..at + length)?.to_vec()).ok();
        }
        at += size;
    }
    None
}

/// Replace `from` where it is not part of a longer identifier.
fn replace_word(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_word(rest, from) {
        out.push_str(&rest[..at]);
        out.push_str(to);
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

/// Where `word` starts in `text` as a whole identifier (or ending in `:`), if anywhere.
fn find_word(text: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = text[from..].find(word) {
        let at = from + found;
        let end = at + word.len();
        let before = text[..at].chars().next_back().is_none_or(|c| !is_ident(c));
        let after = word.ends_with(':') || text[end..].chars().next().is_none_or(|c| !is_ident(c));
        if before && after {
            return Some(at);
        }
        from = end;
    }
    None
}

/// Whether `c` can be part of a JavaScript identifier (as wasm-bindgen and wasm-opt name them).
fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// The glue without the classes of [`UNUSED_CLASSES`] and their finalization registries;
/// fails if one is missing (wasm-bindgen changed its output, so this must be looked at).
fn drop_unused_classes(js: &str) -> Result<String> {
    let mut js = js.to_string();
    for class in UNUSED_CLASSES {
        let start = format!("export class {class} {{");
        let end = format!("if (Symbol.dispose) {class}.prototype[Symbol.dispose] = {class}.prototype.free;\n");
        js = cut(&js, &start, &end).ok_or_else(|| format!("the widget's JS glue has no class {class} to drop"))?;
        let registry = format!("const {class}Finalization = ");
        js = cut(&js, &registry, ";\n").ok_or_else(|| format!("the widget's JS glue has no {class}Finalization"))?;
    }
    if let Some(class) = UNUSED_CLASSES.iter().find(|class| js.contains(*class)) {
        return Err(format!("the widget's JS glue still uses {class} after dropping it"));
    }
    Ok(js)
}

/// `text` without the span from `start` through the first `end` after it.
fn cut(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)?;
    let to = from + text[from..].find(end)? + end.len();
    Some(format!("{}{}", &text[..from], &text[to..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRINTED: &str = r#"{
 "imports": [
  ["./chat-widget_bg.js", "__wbg_remove_8228e91d7ddbc755", "A"],
  ["./chat-widget_bg.js", "__wbg_remove_8228e91d7ddbc755_2", "B"]
 ],
"exports": [
  ["memory", "C"],
  ["run_13", "D"],
  ["run", "E"]
 ]
}
{
 "imports": [
  ["a", "A", "A"]
 ],
"exports": [
  ["C", "C"]
 ]
}
"#;

    #[test]
    fn reads_the_first_mapping_only() {
        let renames = Renames::parse(PRINTED).unwrap();
        assert_eq!(renames.module.as_deref(), Some("./chat-widget_bg.js"));
        assert_eq!(renames.imports.len(), 2);
        assert_eq!(
            renames.exports,
            [("memory".into(), "C".into()), ("run_13".into(), "D".into()), ("run".into(), "E".into())]
        );
    }

    #[test]
    fn renames_whole_names_only() {
        let js = "const i = { __wbg_remove_8228e91d7ddbc755: f, __wbg_remove_8228e91d7ddbc755_2: g };\n\
                  imports = { \"./chat-widget_bg.js\": i };\n\
                  function run() { wasm.run_13(1); wasm.run(2); } wasm.memory.buffer; run();";
        let out = rename(js, &Renames::parse(PRINTED).unwrap(), "a").unwrap();
        assert_eq!(
            out,
            "const i = { A: f, B: g };\nimports = { \"a\": i };\nfunction run() { wasm.D(1); wasm.E(2); } wasm.C.buffer; run();"
        );
    }

    #[test]
    fn an_export_the_wasm_lacks_fails_the_build() {
        let js = "const i = { __wbg_remove_8228e91d7ddbc755: f, __wbg_remove_8228e91d7ddbc755_2: g }; wasm.run(1); wasm.gone(2);";
        let error = rename(js, &Renames::parse(PRINTED).unwrap(), "a").unwrap_err();
        assert!(error.contains("`wasm.gone`"), "{error}");
    }

    #[test]
    fn an_import_the_glue_does_not_provide_fails_the_build() {
        let js = "const i = { __wbg_remove_8228e91d7ddbc755: f }; wasm.run(1);";
        let error = rename(js, &Renames::parse(PRINTED).unwrap(), "a").unwrap_err();
        assert!(error.contains("__wbg_remove_8228e91d7ddbc755_2"), "{error}");
    }

    #[test]
    fn reads_the_import_module() {
        // magic, version, a type section (id 1, 4 bytes), an import section with module "ab".
        let wasm = [0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 2, 7, 1, 2, b'a', b'b', 1, b'f', 0];
        assert_eq!(import_module(&wasm).as_deref(), Some("ab"));
        assert_eq!(import_module(&wasm[..10]), None);
    }

    #[test]
    fn drops_the_stream_classes_and_nothing_else() {
        let class = |name: &str| {
            format!(
                "export class {name} {{\n    free() {{ wasm.x_free(this); }}\n}}\n\
                 if (Symbol.dispose) {name}.prototype[Symbol.dispose] = {name}.prototype.free;\n\
                 const {name}Finalization = (typeof FinalizationRegistry === 'undefined')\n    ? {{}}\n    : new FinalizationRegistry(p => wasm.f(p));\n"
            )
        };
        let js = format!(
            "let a = 1;\n{}{}{}let b = 2;\n",
            class(UNUSED_CLASSES[0]),
            class(UNUSED_CLASSES[1]),
            class(UNUSED_CLASSES[2])
        );
        assert_eq!(drop_unused_classes(&js).unwrap(), "let a = 1;\nlet b = 2;\n");
        assert!(drop_unused_classes("let a = 1;").is_err());
    }
}
