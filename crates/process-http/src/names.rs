//! File names as shown to people (in JSON and in `Content-Disposition`): without the
//! invisible format characters (Unicode category Cf) that can make a name read as something
//! else, such as a right-to-left override (U+202E) after `report` making `reportfdp.exe` show
//! as `reportexe.pdf`.

use std::borrow::Cow;

/// Whether `c` is a format character (general category Cf, Unicode 15.1).
pub fn is_format_char(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// `name` without format characters.
pub fn shown(name: &str) -> Cow<'_, str> {
    if name.chars().any(is_format_char) {
        Cow::Owned(name.chars().filter(|c| !is_format_char(*c)).collect())
    } else {
        Cow::Borrowed(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_characters_are_dropped_and_others_kept() {
        assert_eq!(shown("report\u{202E}fdp.exe"), "reportfdp.exe");
        assert_eq!(
            shown("a\u{200B}b\u{2066}c\u{2069}\u{FEFF}d\u{E0041}"),
            "abcd"
        );
        assert_eq!(shown("résumé 名前 ☃.pdf"), "résumé 名前 ☃.pdf");
        assert!(matches!(shown("plain.csv"), Cow::Borrowed(_)));
    }
}
