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
//!
//! The rewrite depends on how wasm-bindgen writes its glue (one import module, keyed
//! `name:` entries in the imports object, exports used as `wasm.name`, the shape of the
//! dropped classes) and on wasm-opt's JSON mapping. It was checked against the versions in
//! [`GLUE_CHECKED_WITH`]; the build refuses other versions until the golden test
//! (`tests::the_real_glue_is_rewritten_as_checked`, over the real glue and mapping of those
//! versions in `xtask/src/widget_bundle/`) has been brought up to date with them.

use crate::Result;
use crate::setup::{Tools, output, run_visible};
use std::path::Path;
use std::process::Command;

/// The wasm-bindgen CLI and binaryen (`wasm-opt`) releases whose output this rewrite was
/// checked against (see the module doc).
pub const GLUE_CHECKED_WITH: (&str, &str) = ("0.2.130", "132");

/// Exports of server_fn's streaming bodies (never used by the widget).
const UNUSED_EXPORTS: &str = "*intounderlying*";
/// The classes wasm-bindgen writes into the glue for those exports.
const UNUSED_CLASSES: [&str; 3] = ["IntoUnderlyingByteSource", "IntoUnderlyingSink", "IntoUnderlyingSource"];
/// After `-Oz`: flatten and re-loop the control flow, then shrink again, twice, then until
/// nothing changes (the first round about 2% smaller than `-Oz` alone, the second 0.3% more,
/// measured). `--generate-global-effects` first lets the passes know what each function
/// touches (31 B less brotli). `--low-memory-unused` lets small constant additions to an
/// address become load/store offsets: they differ only for an address that wraps around 4 GiB,
/// which a Rust pointer never does (0.6 KB less, measured). The `producers` and
/// `target_features` sections are for tools only; browsers ignore them.
const OPTIMIZE: [&str; 13] = [
    "--low-memory-unused",
    "--generate-global-effects",
    "-Oz",
    "--flatten",
    "--rereloop",
    "-Oz",
    "--flatten",
    "--rereloop",
    "-Oz",
    "-Oz",
    "--converge",
    "--strip-producers",
    "--strip-target-features",
];

/// Shrink `chat-widget_bg.wasm` and rewrite `chat-widget.js` in `dist`. The inputs of the
/// rewrite (trunk's glue, wasm-opt's mapping) and its output before minifying are kept in
/// `dist/../widget-bundle/`, from where the golden test's files are refreshed.
pub fn shrink(dist: &Path, tools: &Tools) -> Result<()> {
    let wasm = dist.join("chat-widget_bg.wasm");
    let glue = dist.join("chat-widget.js");
    let renamed = dist.join("chat-widget_bg.renamed.wasm");
    let wasm_opt = tools.npm_bin.join("wasm-opt");
    check_versions(
        &output(Command::new(tools.cargo_bin.join("wasm-bindgen")).arg("--version"))?,
        &output(Command::new(&wasm_opt).arg("--version"))?,
    )?;
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
    let modules = std::fs::read(&wasm).ok().and_then(|bytes| import_modules(&bytes));
    let modules = modules.ok_or_else(|| format!("cannot read the imports of {}", wasm.display()))?;
    let rewritten = rewrite(&js, &map, &modules)?;
    let kept = dist.with_file_name("widget-bundle");
    std::fs::create_dir_all(&kept).map_err(|e| format!("cannot create {}: {e}", kept.display()))?;
    for (name, text) in [(GLUE_IN, js.as_str()), (MAPPING, map.as_str()), (GLUE_OUT, rewritten.as_str())] {
        std::fs::write(kept.join(name), text).map_err(|e| format!("cannot write {name}: {e}"))?;
    }
    std::fs::write(&glue, rewritten).map_err(|e| format!("cannot write {}: {e}", glue.display()))?;
    run_visible(
        Command::new(tools.npm_bin.join("esbuild"))
            .arg(&glue)
            .args(["--minify", "--format=esm", "--log-level=warning", "--allow-overwrite"])
            .arg(format!("--outfile={}", glue.display())),
    )
}

/// Names of the kept inputs and output of the rewrite (also the golden test's files).
const GLUE_IN: &str = "chat-widget.js";
const MAPPING: &str = "wasm-opt-mapping.json";
const GLUE_OUT: &str = "chat-widget.rewritten.js";

/// The rewritten glue: unused classes dropped, then every name renamed as `mapping` (what
/// wasm-opt printed) says, given the import modules of the shrunk wasm.
fn rewrite(js: &str, mapping: &str, modules: &[String]) -> Result<String> {
    let module = match modules {
        [first, rest @ ..] if rest.iter().all(|m| m == first) => first,
        _ => return Err(format!("the shrunk widget imports from {modules:?}, not from one module")),
    };
    rename(&drop_unused_classes(js)?, &Renames::parse(mapping)?, module)
}

/// Fails unless the installed wasm-bindgen and wasm-opt are the releases the rewrite was
/// checked against (their `--version` output is given).
fn check_versions(wasm_bindgen: &str, wasm_opt: &str) -> Result<()> {
    let (bindgen, binaryen) = GLUE_CHECKED_WITH;
    let bindgen_ok = wasm_bindgen.split_whitespace().nth(1) == Some(bindgen);
    let binaryen_ok = wasm_opt.split_whitespace().nth(2) == Some(binaryen);
    if bindgen_ok && binaryen_ok {
        return Ok(());
    }
    Err(format!(
        "the widget's JS glue rewrite (xtask/src/widget_bundle.rs) was checked against wasm-bindgen {bindgen} and \
         binaryen {binaryen}, but this build has `{}` and `{}`. Refresh the golden files in \
         xtask/src/widget_bundle/ from target/widget-bundle/ with the new versions, make \
         `cargo test -p xtask widget_bundle` pass, then update GLUE_CHECKED_WITH",
        wasm_bindgen.trim(),
        wasm_opt.trim()
    ))
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
    /// Reads the first mapping printed (`--converge` or repeated passes print more): a JSON
    /// object whose `imports` rows are `[module, name, new_name]` and whose `exports` rows
    /// are `[name, new_name]`. Every import must come from one module (wasm-bindgen writes one).
    fn parse(printed: &str) -> Result<Self> {
        let first = serde_json::Deserializer::from_str(printed).into_iter::<serde_json::Value>().next();
        let mapping = first
            .ok_or_else(|| "wasm-opt printed no mapping".to_string())?
            .map_err(|e| format!("wasm-opt's mapping is not JSON: {e}"))?;
        let rows = |key: &str| -> Result<Vec<Vec<String>>> {
            let rows = mapping.get(key).and_then(serde_json::Value::as_array);
            let rows = rows.ok_or_else(|| format!("wasm-opt's mapping has no `{key}` list"))?;
            rows.iter()
                .map(|row| {
                    let strings = row.as_array().map(|r| r.iter().filter_map(|v| v.as_str().map(str::to_string)));
                    let strings: Option<Vec<String>> = strings.map(Iterator::collect);
                    strings
                        .filter(|s| Some(s.len()) == row.as_array().map(Vec::len))
                        .ok_or_else(|| format!("wasm-opt printed a rename this build does not understand: {row}"))
                })
                .collect()
        };
        let mut renames = Self::default();
        for row in rows("imports")? {
            let [module, name, new] = <[String; 3]>::try_from(row)
                .map_err(|row| format!("wasm-opt printed an import rename this build does not understand: {row:?}"))?;
            match &renames.module {
                Some(first) if *first != module => {
                    return Err(format!(
                        "the widget's wasm imports from `{first}` and `{module}`; the rewrite knows one module"
                    ));
                }
                _ => renames.module = Some(module),
            }
            renames.imports.push((name, new));
        }
        for row in rows("exports")? {
            let [name, new] = <[String; 2]>::try_from(row)
                .map_err(|row| format!("wasm-opt printed an export rename this build does not understand: {row:?}"))?;
            renames.exports.push((name, new));
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
        let quoted = format!("\"{old}\"");
        if js.matches(&quoted).count() != 1 {
            return Err(format!("the widget's JS glue names its import module {quoted} other than once"));
        }
        js = js.replace(&quoted, &format!("\"{module}\""));
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

/// The module name of every import of a wasm binary, in order (`None` if it cannot be read).
fn import_modules(wasm: &[u8]) -> Option<Vec<String>> {
    let mut at = 8;
    let leb = |at: &mut usize| -> Option<u64> {
        let (mut value, mut shift) = (0u64, 0);
        loop {
            let byte = *wasm.get(*at)?;
            *at += 1;
            value |= u64::from(byte & 0x7f).checked_shl(shift)?;
            shift += 7;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
    };
    let name = |at: &mut usize| -> Option<String> {
        let length = usize::try_from(leb(at)?).ok()?;
        let text = String::from_utf8(wasm.get(*at..at.checked_add(length)?)?.to_vec()).ok();
        *at += length;
        text
    };
    let limits = |at: &mut usize| -> Option<()> {
        let flags = *wasm.get(*at)?;
        *at += 1;
        leb(at)?;
        if flags & 1 == 1 {
            leb(at)?;
        }
        Some(())
    };
    while at < wasm.len() {
        let id = wasm[at];
        at += 1;
        let size = usize::try_from(leb(&mut at)?).ok()?;
        if id != 2 {
            at = at.checked_add(size).filter(|&end| end <= wasm.len())?;
            continue;
        }
        let mut modules = Vec::new();
        for _ in 0..leb(&mut at)? {
            modules.push(name(&mut at)?);
            name(&mut at)?;
            let kind = *wasm.get(at)?;
            at += 1;
            match kind {
                0 => drop(leb(&mut at)?),
                1 => {
                    at += 1;
                    limits(&mut at)?;
                }
                2 => limits(&mut at)?,
                3 => at += 2,
                4 => {
                    at += 1;
                    leb(&mut at)?;
                }
                _ => return None,
            }
        }
        return Some(modules);
    }
    Some(Vec::new())
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
        let js = "const i = { __wbg_remove_8228e91d7ddbc755: f, __wbg_remove_8228e91d7ddbc755_2: g };\n\
                  imports = { \"./chat-widget_bg.js\": i }; wasm.run(1); wasm.gone(2);";
        let error = rename(js, &Renames::parse(PRINTED).unwrap(), "a").unwrap_err();
        assert!(error.contains("`wasm.gone`"), "{error}");
    }

    #[test]
    fn an_import_the_glue_does_not_provide_fails_the_build() {
        let js =
            "const i = { __wbg_remove_8228e91d7ddbc755: f }; imports = { \"./chat-widget_bg.js\": i }; wasm.run(1);";
        let error = rename(js, &Renames::parse(PRINTED).unwrap(), "a").unwrap_err();
        assert!(error.contains("__wbg_remove_8228e91d7ddbc755_2"), "{error}");
    }

    #[test]
    fn reads_every_import_module() {
        // magic, version, a type section (id 1, 4 bytes), an import section: a function from
        // "ab", a memory (limits with a maximum) from "c", a global from "ab".
        let wasm = [
            0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 2, 23, 3, 2, b'a', b'b', 1, b'f', 0, 0, 1, b'c', 1, b'm',
            2, 1, 1, 2, 2, b'a', b'b', 1, b'g', 3, 0x7f, 0,
        ];
        assert_eq!(import_modules(&wasm), Some(vec!["ab".into(), "c".into(), "ab".into()]));
        assert_eq!(import_modules(&wasm[..12]), None);
        assert_eq!(import_modules(&wasm[..30]), None);
    }

    #[test]
    fn a_second_import_module_fails_the_build() {
        let printed = r#"{"imports": [["m", "a", "A"], ["n", "b", "B"]], "exports": [["run", "C"]]}"#;
        assert!(Renames::parse(printed).unwrap_err().contains("`m` and `n`"));
        let error = rewrite("", PRINTED, &["a".into(), "b".into()]).unwrap_err();
        assert!(error.contains("not from one module"), "{error}");
    }

    #[test]
    fn a_mapping_of_another_shape_fails_the_build() {
        for printed in [
            "",
            "not json",
            r#"{"exports": [["run", "C"]]}"#,
            r#"{"imports": [["m", "a"]], "exports": [["run", "C"]]}"#,
            r#"{"imports": [["m", "a", 1]], "exports": [["run", "C"]]}"#,
            r#"{"imports": [["m", "a", "A"]], "exports": [["run", "C", "D"]]}"#,
            r#"{"imports": [], "exports": []}"#,
        ] {
            assert!(Renames::parse(printed).is_err(), "{printed}");
        }
    }

    #[test]
    fn a_module_named_twice_in_the_glue_fails_the_build() {
        let js = "imports = { \"./chat-widget_bg.js\": i }; x = \"./chat-widget_bg.js\"; \
                  const i = { __wbg_remove_8228e91d7ddbc755: f, __wbg_remove_8228e91d7ddbc755_2: g };";
        assert!(rename(js, &Renames::parse(PRINTED).unwrap(), "a").unwrap_err().contains("other than once"));
    }

    #[test]
    fn other_tool_versions_fail_the_build() {
        let (bindgen, binaryen) = GLUE_CHECKED_WITH;
        let wasm_opt = format!("wasm-opt version {binaryen} (version_{binaryen})");
        assert!(check_versions(&format!("wasm-bindgen {bindgen}"), &wasm_opt).is_ok());
        assert!(check_versions("wasm-bindgen 0.2.131", &wasm_opt).unwrap_err().contains("GLUE_CHECKED_WITH"));
        assert!(check_versions(&format!("wasm-bindgen {bindgen}"), "wasm-opt version 133 (version_133)").is_err());
    }

    /// The versions the rewrite was checked against are the ones the project pins.
    #[test]
    fn checked_versions_are_the_pinned_ones() {
        let (bindgen, binaryen) = GLUE_CHECKED_WITH;
        assert_eq!(bindgen, crate::setup::WASM_BINDGEN);
        let package = std::fs::read_to_string(crate::project_root().join("package.json")).unwrap();
        assert!(package.contains(&format!("\"binaryen\": \"{binaryen}.0.0\"")), "package.json vs GLUE_CHECKED_WITH");
    }

    /// Golden test over the real glue of the pinned wasm-bindgen and the real mapping of the
    /// pinned wasm-opt (kept by `shrink` in `target/widget-bundle/`, copied here): the rewrite
    /// gives the checked output, byte for byte.
    #[test]
    fn the_real_glue_is_rewritten_as_checked() {
        let golden = |name: &str| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/widget_bundle").join(name);
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        };
        let rewritten = rewrite(&golden(GLUE_IN), &golden(MAPPING), &["a".into()]).unwrap();
        assert!(
            rewritten == golden(GLUE_OUT),
            "the rewrite of the real glue changed; compare with target/widget-bundle/"
        );
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
