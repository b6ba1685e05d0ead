//! The output: a human table, then one final line of JSON.

use serde_json::{Map, Value};

/// One line of the table: what was measured, against what, and the target if there is one.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: &'static str,
    pub metric: String,
    pub processd: String,
    pub baseline: String,
    pub ratio: String,
    /// The target and whether it was met, e.g. ("≥ 0.6", Some(true)).
    pub target: Option<(&'static str, bool)>,
}

impl Row {
    pub fn info(
        scenario: &'static str,
        metric: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        Self {
            scenario,
            metric: metric.into(),
            processd: value.into(),
            baseline: String::new(),
            ratio: String::new(),
            target: None,
        }
    }
}

/// Everything a run measured.
#[derive(Debug, Default)]
pub struct Report {
    rows: Vec<Row>,
    json: Map<String, Value>,
}

impl Report {
    pub fn row(&mut self, row: Row) {
        self.rows.push(row);
    }

    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        self.json.insert(key.to_owned(), value.into());
    }

    /// The table, one scenario after another, columns aligned.
    pub fn table(&self) -> String {
        let header = [
            "scenario", "metric", "processd", "baseline", "ratio", "target", "met",
        ];
        let cells: Vec<[String; 7]> = self
            .rows
            .iter()
            .map(|r| {
                let (target, met) = match r.target {
                    Some((t, ok)) => (t.to_owned(), if ok { "yes" } else { "NO" }.to_owned()),
                    None => (String::new(), String::new()),
                };
                [
                    r.scenario.to_owned(),
                    r.metric.clone(),
                    r.processd.clone(),
                    r.baseline.clone(),
                    r.ratio.clone(),
                    target,
                    met,
                ]
            })
            .collect();
        let mut widths = header.map(|h| h.chars().count());
        for row in &cells {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |row: &[String]| -> String {
            let mut out = String::new();
            for (i, (c, w)) in row.iter().zip(widths).enumerate() {
                if i > 0 {
                    out.push_str("  ");
                }
                out.push_str(c);
                out.push_str(&" ".repeat(w - c.chars().count()));
            }
            out.trim_end().to_owned()
        };
        let mut out = line(&header.map(str::to_owned));
        out.push('\n');
        out.push_str(&line(&widths.map(|w| "-".repeat(w))));
        out.push('\n');
        for row in &cells {
            out.push_str(&line(row));
            out.push('\n');
        }
        out
    }

    pub fn json_line(&self) -> String {
        Value::Object(self.json.clone()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_and_marks_targets() {
        let mut r = Report::default();
        r.row(Row {
            scenario: "launch",
            metric: "processes/s".to_owned(),
            processd: "900".to_owned(),
            baseline: "1500".to_owned(),
            ratio: "0.60".to_owned(),
            target: Some(("≥ 0.6", true)),
        });
        r.row(Row::info("memory", "idle RSS", "12 MiB"));
        r.set("launch_ratio", 0.6);
        let t = r.table();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[2].starts_with("launch    processes/s  900"));
        assert!(lines[2].ends_with("≥ 0.6   yes"));
        assert_eq!(r.json_line(), r#"{"launch_ratio":0.6}"#);
    }
}
