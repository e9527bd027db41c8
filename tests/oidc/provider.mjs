// A real OpenID Connect provider (the oidc-provider package) for the studio's sign-in tests,
// on loopback only. Its people live in a JSON file the tests rewrite between sign-ins (to
// change someone's groups or remove them), read again at every request:
//   {"users": {"ada": {"password": "...", "email": "...", "groups": ["Design"]}},
//    "code_ttl": 60}
// Environment: PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS and POST_LOGOUT_URIS (comma
// separated), USERS_FILE. Prints "ready" when it listens.
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const list = (name) => (process.env[name] || '').split(',').filter(Boolean);

function directory() {
  return JSON.parse(readFileSync(process.env.USERS_FILE, 'utf8'));
}

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, error) {
  return `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Test directory</title></head>
<body><h1>Test directory</h1>${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Directory user <input name="login" autocomplete="username"></label>
<label>Directory password <input name="password" type="password"></label>
<button type="submit">Continue</button></form></body></html>`;
}

// Its own pages, plain: the package's defaults load a web font from the internet, and these
// tests reach nothing beyond loopback.
const page = (title, inner) => `<!doctype html><html><head><meta charset="utf-8">
<link rel="icon" href="data:,"><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1>${inner}</body></html>`;

const provider = new Provider(issuer, {
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Directory error', `<p>${escape(out.error)}: ${escape(out.error_description)}</p>`);
  },
  clients: [
    {
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      redirect_uris: list('REDIRECT_URIS'),
      post_logout_redirect_uris: list('POST_LOGOUT_URIS'),
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  // PKCE on every authorization request: a client that sends none is refused.
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'name'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = page(
          'Sign out of the test directory?',
          `${form}<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>`,
        );
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out of the test directory', '');
      },
    },
  },
  ttl: {
    // A test shortens it to see an expired code refused.
    AuthorizationCode: () => directory().code_ttl ?? 60,
  },
  cookies: { keys: ['test-provider-cookie-key'] },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const person = directory().users[id];
    if (!person) return undefined;
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: person.email,
          email_verified: true,
          preferred_username: id,
          name: person.name || id,
          groups: person.groups || [],
        };
      },
    };
  },
  // The studio is a first-party client: every scope it asks for is granted without a
  // consent screen.
  async loadExistingGrant(ctx) {
    const existing = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (existing) return ctx.oidc.provider.Grant.find(existing);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.params.scope || 'openid');
    await grant.save();
    return grant;
  },
});

const handle = provider.callback();

async function body(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return new URLSearchParams(text);
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  if (req.method === 'GET') {
    res.end(loginPage(details.uid));
    return;
  }
  const form = await body(req);
  const person = directory().users[form.get('login')];
  if (!person || person.password !== form.get('password')) {
    res.end(loginPage(details.uid, 'Unknown user or wrong password.'));
    return;
  }
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: form.get('login') } },
    { mergeWithLastSubmission: false },
  );
}

http
  .createServer((req, res) => {
    if (req.url.startsWith('/interaction/')) {
      interaction(req, res).catch((error) => {
        res.statusCode = 400;
        res.end(String(error));
      });
    } else {
      handle(req, res);
    }
  })
  .listen(port, '127.0.0.1', () => console.log('ready'));
