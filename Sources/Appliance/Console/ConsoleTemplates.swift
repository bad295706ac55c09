/// The console's Mustache templates, compiled into the binary (no files to install, no build step). `{{name}}`
/// escapes what it shows; the only `{{{...}}}` is the layout's already-rendered page.
enum ConsoleTemplates {
    static let all: [(String, String)] = [
        ("layout", layout), ("sign-in", signIn), ("dashboard", dashboard), ("catalog", catalog), ("audit", audit), ("audit-rows", auditRows), ("problem", problem),
        ("tool-fields", toolFields), ("tool", tool),
    ] + resources

    static let layout = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · agentbox</title>
        <link rel="stylesheet" href="/console/static/console.css">
        <script src="/console/static/console.js" defer></script>
        </head>
        <body>
        <a class="skip" href="#main">Skip to content</a>
        {{#user}}
        <header>
        <nav aria-label="Main">
        <a href="/console/dashboard">Dashboard</a>
        <a href="/console/catalog">Catalog</a>
        <a href="/console/toolboxes">Toolboxes</a>
        <a href="/console/agents">Agents</a>
        <a href="/console/audit">Audit log</a>
        </nav>
        <form method="post" action="/console/sign-out" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <span class="who">{{name}}{{#admin}} (admin){{/admin}}</span>
        <button type="submit">Sign out</button>
        </form>
        </header>
        {{/user}}
        <main id="main">
        <h1>{{title}}</h1>
        {{{content}}}
        </main>
        </body>
        </html>

        """

    static let signIn = """
        <form method="post" action="/console/sign-in" class="card">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p>Sign in with a user token (from <code>agentbox admin create</code> or <code>agentbox token create</code>).
        It is kept in a cookie this browser sends to the console only, never shown again.</p>
        <label for="token">User token</label>
        <input id="token" name="token" type="password" autocomplete="off" required aria-describedby="token-error">
        {{#error}}<p class="error" id="token-error" role="alert">{{error}}</p>{{/error}}
        <button type="submit">Sign in</button>
        </form>

        """

    static let dashboard = """
        <section aria-labelledby="toolboxes-heading">
        <h2 id="toolboxes-heading">Toolboxes</h2>
        {{^toolboxes}}<p>No toolbox yet.</p>{{/toolboxes}}
        {{#hasToolboxes}}
        <div class="scroll"><table>
        <thead><tr><th scope="col">Name</th><th scope="col">Provider</th><th scope="col">Status</th><th scope="col">Reachability</th><th scope="col">Last heartbeat</th></tr></thead>
        <tbody>
        {{#toolboxes}}
        <tr><td>{{name}}</td><td>{{provider}}</td>
        <td><span data-live="toolbox-status" data-id="{{id}}">{{status}}</span>{{#detail}}<br><small>{{detail}}</small>{{/detail}}</td>
        <td data-live="toolbox-reachability" data-id="{{id}}">{{reachability}}</td>
        <td data-live="toolbox-heartbeat" data-id="{{id}}">{{heartbeat}}</td></tr>
        {{/toolboxes}}
        </tbody></table></div>
        {{/hasToolboxes}}
        </section>
        <section aria-labelledby="instances-heading">
        <h2 id="instances-heading">Instances by status</h2>
        {{^instanceCounts}}<p>No instance yet.</p>{{/instanceCounts}}
        <ul class="counts">
        {{#instanceCounts}}<li><span class="status">{{status}}</span> <strong data-live="instance-count" data-id="{{status}}">{{count}}</strong></li>{{/instanceCounts}}
        </ul>
        </section>
        <section aria-labelledby="audit-heading">
        <h2 id="audit-heading">Recent events</h2>
        {{> audit-rows}}
        <p><a href="/console/audit">The whole audit log</a></p>
        </section>

        """

    static let auditRows = """
        {{^events}}<p>Nothing recorded yet.</p>{{/events}}
        {{#hasEvents}}
        <div class="scroll"><table>
        <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Outcome</th><th scope="col">Target</th></tr></thead>
        <tbody>
        {{#events}}
        <tr><td>{{at}}</td><td>{{actor}}</td><td>{{action}}</td><td class="outcome-{{outcome}}">{{outcome}}</td><td>{{target}}</td></tr>
        {{/events}}
        </tbody></table></div>
        {{/hasEvents}}

        """

    static let audit = """
        <form method="get" action="/console/audit" class="filters" role="search">
        <label for="action">Action starts with</label>
        <input id="action" name="action" value="{{filter.action}}" placeholder="e.g. credential.">
        <label for="outcome">Outcome</label>
        <select id="outcome" name="outcome">
        <option value="">any</option>
        {{#outcomes}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/outcomes}}
        </select>
        <button type="submit">Filter</button>
        </form>
        {{> audit-rows}}
        <nav class="pages" aria-label="Pages">
        {{#previous}}<a href="{{previous}}">Newer</a>{{/previous}}
        {{#next}}<a href="{{next}}">Older</a>{{/next}}
        </nav>

        """

    static let catalog = """
        <div class="scroll"><table>
        <thead><tr><th scope="col">Name</th><th scope="col">Description</th><th scope="col">Image</th><th scope="col">Version</th><th scope="col">Capabilities</th><th scope="col">Enabled</th></tr></thead>
        <tbody>
        {{#tools}}
        <tr><td>{{#admin}}<a href="/console/catalog/{{id}}">{{name}}</a>{{/admin}}{{^admin}}{{name}}{{/admin}}</td><td>{{description}}</td><td><code>{{image}}</code></td><td>{{version}}</td><td>{{capabilities}}</td><td>{{enabled}}</td></tr>
        {{/tools}}
        </tbody></table></div>
        {{^tools}}<p>The catalog is empty.</p>{{/tools}}
        {{#admin}}
        <h2 id="add-heading">Add a tool</h2>
        <form method="post" action="/console/catalog" class="card" aria-labelledby="add-heading" novalidate>
        <input type="hidden" name="csrf" value="{{csrf}}">
        {{> tool-fields}}
        <button type="submit">Add to the catalog</button>
        </form>
        {{/admin}}

        """

    static let toolFields = """
        {{#form.general}}<p class="error" role="alert">{{form.general}}</p>{{/form.general}}
        {{#fields}}
        <label for="{{name}}">{{label}}</label>
        {{#multiline}}<textarea id="{{name}}" name="{{name}}" rows="4"{{#error}} aria-invalid="true"{{/error}} aria-describedby="{{name}}-hint {{name}}-error">{{value}}</textarea>{{/multiline}}
        {{^multiline}}<input id="{{name}}" name="{{name}}" value="{{value}}"{{#error}} aria-invalid="true"{{/error}} aria-describedby="{{name}}-hint {{name}}-error">{{/multiline}}
        <small id="{{name}}-hint">{{hint}}</small>
        {{#error}}<p class="error" id="{{name}}-error" role="alert">{{error}}</p>{{/error}}
        {{/fields}}

        """

    static let tool = """
        <form method="post" action="/console/catalog/{{id}}" class="card" novalidate>
        <input type="hidden" name="csrf" value="{{csrf}}">
        {{> tool-fields}}
        <label class="check"><input type="checkbox" name="is_enabled" value="yes"{{#enabled}} checked{{/enabled}}> Enabled (users can deploy it)</label>
        <button type="submit">Save</button>
        </form>
        <p><a href="/console/catalog">Back to the catalog</a></p>

        """

    static let problem = """
        <p class="error" role="alert">{{message}}</p>
        <p><a href="/console/dashboard">Back to the dashboard</a></p>

        """
}
