//! Script mode: commands from a file or stdin, one per line, and the screen printed as text.
//!
//! ```text
//! add buy milk      a new todo
//! toggle 1          done / not done, by its row in the list (from 1)
//! edit 1 buy oat milk
//! delete 2
//! undo | redo
//! filter all|active|done
//! show              print the screen now (it is also printed at the end)
//! # a comment
//! ```

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::app::{App, Command, Filter};
use crate::ui;

/// Runs the script at `source` (`-` for stdin) against `app`.
pub(crate) fn run(app: &App, source: &str) -> Result<(), String> {
    let text = if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        text
    } else {
        std::fs::read_to_string(source).map_err(|e| format!("cannot read {source}: {e}"))?
    };
    settle(app)?;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |e: String| format!("line {}: {e}", number + 1);
        for command in parse(line).map_err(at)? {
            if command == Show {
                show(app);
            } else if let Step::Run(command) = command {
                app.run(command);
            }
            settle(app).map_err(at)?;
        }
    }
    show(app);
    Ok(())
}

/// One step of a script line.
#[derive(Debug, PartialEq)]
enum Step {
    Run(Command),
    Show,
}

use Step::Show;

fn parse(line: &str) -> Result<Vec<Step>, String> {
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    let rest = rest.trim();
    let row = |text: &str| -> Result<usize, String> {
        match text.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n - 1),
            _ => Err(format!("`{text}` is not a row number (1, 2, ...)")),
        }
    };
    let run = |c| Step::Run(c);
    Ok(match word {
        "add" if !rest.is_empty() => vec![run(Command::Add(rest.to_owned()))],
        "toggle" => vec![run(Command::Select(row(rest)?)), run(Command::Toggle)],
        "delete" => vec![run(Command::Select(row(rest)?)), run(Command::Delete)],
        "edit" => {
            let (n, text) = rest.split_once(' ').ok_or("usage: edit ROW TEXT")?;
            vec![
                run(Command::Select(row(n)?)),
                run(Command::Edit(text.trim().to_owned())),
            ]
        }
        "undo" => vec![run(Command::Undo)],
        "redo" => vec![run(Command::Redo)],
        "filter" => {
            let filter = match rest {
                "all" => Filter::All,
                "active" => Filter::Active,
                "done" => Filter::Done,
                other => return Err(format!("unknown filter `{other}`")),
            };
            vec![run(Command::Filter(Some(filter)))]
        }
        "show" => vec![Show],
        other => return Err(format!("unknown command `{other}`")),
    })
}

/// Waits until no edit is in flight and the host has nothing more to say.
fn settle(app: &App) -> Result<(), String> {
    let start = Instant::now();
    let mut quiet = 0;
    while quiet < 3 {
        if start.elapsed() > Duration::from_secs(30) {
            return Err("the state host did not settle within 30 s".into());
        }
        let handled = app.client.pump();
        stateloom::optimistic::run_until_stalled();
        if handled == 0 && !app.busy() {
            quiet += 1;
        } else {
            quiet = 0;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}

/// Prints the screen, drawn at 64 by 12, as text. A closed stdout (a pipe whose reader left)
/// is not an error worth stopping for.
fn show(app: &App) {
    let mut terminal = Terminal::new(TestBackend::new(64, 12)).expect("a test backend never fails");
    let frame = terminal
        .draw(|frame| ui::draw(frame, app))
        .expect("a test backend never fails");
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{}", ui::screen_text(frame.buffer));
    let _ = writeln!(out, "{}", "-".repeat(64));
    let _ = out.flush();
}
