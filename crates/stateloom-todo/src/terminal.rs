//! The interactive app: the terminal in raw mode, keys to commands, a frame per tick.

use std::io;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

use crate::app::{App, Command, Editing};
use crate::ui;

/// Puts the terminal back as it was, however the app ends.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = disable_raw_mode();
        let _ = execute!(io::stdout(), LeaveAlternateScreen);
    }
}

/// Runs the app until `q`.
pub(crate) fn run(app: &App) -> io::Result<()> {
    enable_raw_mode()?;
    execute!(io::stdout(), EnterAlternateScreen)?;
    let _restore = Restore;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    loop {
        app.tick();
        terminal.draw(|frame| ui::draw(frame, app))?;
        if !event::poll(Duration::from_millis(30))? {
            continue;
        }
        let Event::Key(key) = event::read()? else {
            continue;
        };
        if key.kind != KeyEventKind::Press {
            continue;
        }
        if !on_key(app, key.code) {
            return Ok(());
        }
    }
}

/// Handles a key; `false` to quit.
fn on_key(app: &App, code: KeyCode) -> bool {
    let s = &app.scope;
    if let Some(mut editing) = s.get(app.editing) {
        match code {
            KeyCode::Enter => {
                s.set(app.editing, None);
                match editing.id {
                    Some(_) => app.run(Command::Edit(editing.buffer)),
                    None if !editing.buffer.trim().is_empty() => {
                        app.run(Command::Add(editing.buffer));
                    }
                    None => {}
                }
            }
            KeyCode::Esc => s.set(app.editing, None),
            KeyCode::Backspace => {
                editing.buffer.pop();
                s.set(app.editing, Some(editing));
            }
            KeyCode::Char(c) => {
                editing.buffer.push(c);
                s.set(app.editing, Some(editing));
            }
            _ => {}
        }
        return true;
    }
    match code {
        KeyCode::Char('q') | KeyCode::Esc => return false,
        KeyCode::Char('a') => s.set(
            app.editing,
            Some(Editing {
                id: None,
                buffer: String::new(),
            }),
        ),
        KeyCode::Char('e') => {
            if let Some(todo) = app.selection() {
                s.set(
                    app.editing,
                    Some(Editing {
                        id: Some(todo.id),
                        buffer: todo.text,
                    }),
                );
            }
        }
        KeyCode::Char(' ') => app.run(Command::Toggle),
        KeyCode::Char('d') => app.run(Command::Delete),
        KeyCode::Char('u') => app.run(Command::Undo),
        KeyCode::Char('r') => app.run(Command::Redo),
        KeyCode::Char('f') => app.run(Command::Filter(None)),
        KeyCode::Up | KeyCode::Char('k') => app.run(Command::Up),
        KeyCode::Down | KeyCode::Char('j') => app.run(Command::Down),
        _ => {}
    }
    true
}
