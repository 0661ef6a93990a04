//! Drawing the app with ratatui: the list, a status line, the line being typed, and help.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph};

use crate::app::App;

/// Draws one frame of `app`.
pub(crate) fn draw(frame: &mut Frame<'_>, app: &App) {
    let s = &app.scope;
    let visible = s.get(app.visible);
    let shown = s.get(app.shown);
    let all = shown.value().cloned().unwrap_or_default();
    let open = all.iter().filter(|t| !t.done).count();
    let flags = s.get(app.flags);
    let [list_area, status_area, input_area, help_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());

    let title = format!(
        " StateLoom todos: {} ({} open, {} done) ",
        s.get(app.filter).name(),
        open,
        all.len() - open
    );
    let items: Vec<ListItem<'_>> = visible
        .iter()
        .map(|t| {
            let check = if t.done { "[x]" } else { "[ ]" };
            let pending = if t.id == 0 { "  (saving)" } else { "" };
            ListItem::new(format!("{check} {}{pending}", t.text))
        })
        .collect();
    let mut state = ListState::default();
    if !visible.is_empty() {
        state.select(Some(s.get(app.selected).min(visible.len() - 1)));
    }
    let list = List::new(items)
        .block(Block::default().borders(Borders::ALL).title(title))
        .highlight_symbol("> ")
        .highlight_style(Style::default().add_modifier(Modifier::BOLD));
    frame.render_stateful_widget(list, list_area, &mut state);

    let mut status = Vec::new();
    if shown.is_waiting() {
        status.push("saving...".to_owned());
    }
    if flags.can_undo {
        status.push("u: undo".to_owned());
    }
    if flags.can_redo {
        status.push("r: redo".to_owned());
    }
    if let Some(message) = s.get(app.message) {
        status.push(format!("error: {message}"));
    }
    frame.render_widget(Paragraph::new(status.join("  ")), status_area);

    let input = match s.get(app.editing) {
        Some(editing) if editing.id.is_some() => format!("rename: {}_", editing.buffer),
        Some(editing) => format!("new: {}_", editing.buffer),
        None => String::new(),
    };
    frame.render_widget(Paragraph::new(input), input_area);
    frame.render_widget(
        Paragraph::new(Line::from(
            "a add  e edit  spc toggle  d del  u undo  r redo  f filter  q quit",
        )),
        help_area,
    );
}

/// The text of a drawn screen, one line per row, without trailing spaces.
pub(crate) fn screen_text(buffer: &ratatui::buffer::Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        for x in 0..area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
