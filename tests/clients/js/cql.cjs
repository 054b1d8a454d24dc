// The Node.js Cassandra driver signing in to sscstub's CQL port with a Keyspaces password, as
// an application would (its default options, PlainTextAuthProvider): prints one JSON line, the
// release version read from system.local or the driver's error.
// usage: node cql.cjs HOST PORT LOGIN PASSWORD
const cassandra = require("cassandra-driver");

const [host, port, login, password] = process.argv.slice(2);
const client = new cassandra.Client({
  contactPoints: [`${host}:${port}`],
  localDataCenter: "us-east-1",
  authProvider: new cassandra.auth.PlainTextAuthProvider(login, password),
});

(async () => {
  try {
    await client.connect();
    const result = await client.execute("SELECT release_version FROM system.local");
    console.log(JSON.stringify({ release_version: result.first().release_version }));
  } catch (e) {
    const inner = Object.values(e.innerErrors || {})[0] || e;
    console.log(JSON.stringify({ error: inner.name, code: inner.code, message: inner.message }));
  } finally {
    await client.shutdown();
  }
})();
