//! The widget's stylesheet, minified into `OUT_DIR` (about 100 B less brotli in the shipped
//! widget): comments dropped, whitespace runs collapsed, the spaces around `{ } ; , >` removed
//! and each block's last `;`. Spaces inside selectors (descendants) and values stay, so the
//! rules read the same; `src/style.css` must hold no string with these characters (checked).

fn main() {
    println!("cargo:rerun-if-changed=src/style.css");
    let css = std::fs::read_to_string("src/style.css").expect("src/style.css");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("style.css");
    std::fs::write(out, minify(&css)).expect("the minified stylesheet is written");
}

fn minify(css: &str) -> String {
    let strings = css.split('"').skip(1).step_by(2);
    for string in strings {
        assert!(
            !string.contains(['{', '}', ';', ',', '>', '/']) && !string.contains("  "),
            "a string the minifier would change: {string}"
        );
    }
    let mut text = String::new();
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        text.push_str(&rest[..start]);
        let end = rest[start..].find("*/").expect("every comment is closed");
        rest = &rest[start + end + 2..];
    }
    text.push_str(rest);
    let mut out = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for mark in ['{', '}', ';', ',', '>'] {
        out = out.replace(&format!(" {mark}"), &mark.to_string()).replace(&format!("{mark} "), &mark.to_string());
    }
    let out = out.replace(";}", "}");
    let opened = |s: &str, c: char| s.matches(c).count();
    assert_eq!((opened(&out, '{'), opened(&out, '}')), (opened(css, '{'), opened(css, '}')), "every block kept");
    out
}
