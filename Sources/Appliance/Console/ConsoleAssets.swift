/// The console's style sheet and script, served from the binary at `/console/static/`. The script only polls
/// `/console/live` and writes the statuses it gets with `textContent` (never as HTML); every page works without it.
enum ConsoleAssets {
    /// File name to content type and content.
    static let files: [String: (type: String, body: String)] = [
        "console.css": ("text/css; charset=utf-8", css),
        "console.js": ("text/javascript; charset=utf-8", script),
    ]

    static let css = """
        :root { color-scheme: light; --ink: #1b1f24; --muted: #4a5360; --line: #c9d1db; --accent: #0b57d0; --bad: #a4161a; --ok: #136f3a; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: var(--ink); background: #fff; }
        header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; justify-content: space-between; padding: .75rem 1rem; border-bottom: 1px solid var(--line); }
        nav a { margin-right: 1rem; color: var(--accent); }
        main { padding: 1rem; max-width: 72rem; margin: 0 auto; }
        h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
        h2 { font-size: 1.2rem; margin-top: 2rem; }
        a { color: var(--accent); }
        a:focus, button:focus, input:focus, select:focus, textarea:focus { outline: 3px solid #f2b705; outline-offset: 2px; }
        .skip { position: absolute; left: -999px; }
        .skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem; }
        .scroll { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        small, .who { color: var(--muted); }
        .card { max-width: 40rem; display: grid; gap: .35rem; padding: 1rem; border: 1px solid var(--line); border-radius: .5rem; }
        label { font-weight: 600; margin-top: .5rem; }
        input, select, textarea { font: inherit; padding: .45rem; border: 1px solid var(--muted); border-radius: .3rem; width: 100%; }
        textarea { font-family: ui-monospace, monospace; }
        button { font: inherit; padding: .45rem 1rem; border: 0; border-radius: .3rem; background: var(--accent); color: #fff; cursor: pointer; justify-self: start; }
        .inline { display: flex; gap: .75rem; align-items: center; }
        .filters { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; }
        .filters input, .filters select { width: auto; }
        .error { color: var(--bad); font-weight: 600; margin: .2rem 0; }
        [aria-invalid="true"] { border: 2px solid var(--bad); }
        .outcome-denied, .outcome-error { color: var(--bad); }
        .outcome-ok { color: var(--ok); }
        .counts { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 1rem; }
        .counts li { border: 1px solid var(--line); border-radius: .5rem; padding: .5rem 1rem; }
        .check { display: flex; gap: .5rem; align-items: center; font-weight: normal; }
        .check input { width: auto; }
        .danger { background: var(--bad); }
        .actions { display: flex; flex-wrap: wrap; gap: .5rem; margin: 1rem 0; }
        .facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
        .facts dt { font-weight: 600; }
        .facts dd { margin: 0; }
        .events { padding-left: 1.2rem; }
        code { overflow-wrap: anywhere; }
        @media (max-width: 40rem) { th, td { padding: .3rem; font-size: .9rem; } nav a { display: inline-block; margin: .2rem .6rem .2rem 0; } }

        """

    static let script = """
        "use strict";
        // Live statuses: every element with data-live and data-id is refreshed from /console/live every 3 seconds.
        (function () {
          const live = document.querySelectorAll("[data-live]");
          if (live.length === 0) return;
          async function refresh() {
            try {
              const answer = await fetch("/console/live", { credentials: "same-origin", headers: { "Accept": "application/json" } });
              if (!answer.ok) return;
              const values = await answer.json();
              for (const element of live) {
                const group = values[element.dataset.live];
                const value = group ? group[element.dataset.id] : undefined;
                if (value !== undefined && element.textContent !== String(value)) element.textContent = String(value);
              }
            } catch (error) {
              // The next round tries again.
            }
          }
          setInterval(refresh, 3000);
        })();

        """
}
