// A real OpenID Connect provider for the tests: panva's oidc-provider (OpenID Certified),
// with its development sign-in pages (any password), on 127.0.0.1 at a port the system
// chooses. Prints "listening <issuer>" once it answers. Configured by one JSON argument:
//   { "clients": [{ "client_id", "client_secret", "redirect_uris": [...] }],
//     "accounts": { "<login>": { "email", "email_verified", "name", "groups" } } }
// A login not among the accounts signs in with no e-mail and no groups.
import http from "node:http";
import Provider from "oidc-provider";

const config = JSON.parse(process.argv[2]);

const server = http.createServer();
server.listen(0, "127.0.0.1", () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: config.clients.map((client) => ({
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
      ...client,
    })),
    claims: {
      openid: ["sub"],
      email: ["email", "email_verified"],
      profile: ["name"],
      groups: ["groups"],
    },
    scopes: ["openid", "email", "profile", "groups"],
    async findAccount(_ctx, id) {
      const claims = config.accounts[id] || {};
      return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
    },
    pkce: { required: () => true },
    cookies: { keys: ["test-only-cookie-key"] },
    features: { devInteractions: { enabled: true } },
  });
  // The tests' loopback issuer is plain http: the provider must not insist on https
  // redirect URIs or secure cookies for it.
  provider.proxy = false;
  server.on("request", provider.callback());
  console.log(`listening ${issuer}`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
