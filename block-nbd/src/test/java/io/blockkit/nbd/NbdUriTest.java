package io.blockkit.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.nbd.protocol.Endpoint;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The URI forms of the NBD URI specification and QEMU's legacy syntax, and their errors. */
class NbdUriTest {
  private static NbdUri parse(String uri) throws InvalidOptionException {
    int colon = uri.indexOf(':');
    return NbdUri.parse(uri.substring(0, colon), uri.substring(colon + 1));
  }

  @Test
  void exportNamesAndEndpoints() throws Exception {
    assertEquals(new NbdUri("nbd://example.com/disk", Endpoint.tcp("example.com", 10809), "disk",
        false, Map.of()), parse("nbd://example.com/disk"));
    assertEquals("", parse("nbd://example.com").exportName());
    assertEquals("", parse("nbd://example.com/").exportName());
    assertEquals("/disk", parse("nbd://example.com//disk").exportName());
    assertEquals("hello world", parse("nbd://example.com/hello%20world").exportName());
    assertEquals("a+b", parse("nbd://h/a+b").exportName(), "a plus is not a space in a path");
    assertEquals(Endpoint.tcp("::1", 10900), parse("nbds://[::1]:10900/x").endpoint());
    NbdUri tls = parse("nbds://h:1/x?tls-certificates=/etc/pki/nbd&timeout=5");
    assertEquals(true, tls.tls());
    assertEquals(Map.of("tls-certificates", "/etc/pki/nbd", "timeout", "5"), tls.query());
    NbdUri unix = parse("nbd+unix:///disk?socket=/run/x.sock");
    assertEquals(Endpoint.unix(Path.of("/run/x.sock")), unix.endpoint());
    assertEquals("disk", unix.exportName());
    assertEquals(Map.of(), unix.query(), "socket is the endpoint, not an option");
    assertEquals(true, parse("nbds+unix:///?socket=s").tls());
  }

  @Test
  void qemuLegacySyntax() throws Exception {
    assertEquals(new NbdUri("nbd:localhost:10810:exportname=disk",
        Endpoint.tcp("localhost", 10810), "disk", false, Map.of()),
        parse("nbd:localhost:10810:exportname=disk"));
    assertEquals(Endpoint.tcp("host", 10809), parse("nbd:host").endpoint());
    NbdUri unix = parse("nbd:unix:/run/x.sock:exportname=d");
    assertEquals(Endpoint.unix(Path.of("/run/x.sock")), unix.endpoint());
    assertEquals("d", unix.exportName());
  }

  @Test
  void mistakesAreNamed() {
    for (String[] c : new String[][] {
        {"nbd+unix:///disk", "the socket=PATH parameter is missing"},
        {"nbd+unix://host/disk?socket=/s", "a Unix socket URI has no host (nbd+unix:///NAME?socket=PATH)"},
        {"nbd://h/x?socket=/s", "socket= belongs to the nbd+unix scheme"},
        {"nbd:///x", "the host is missing"},
        {"nbds:h", "expected nbds://HOST[:PORT]/NAME"},
        {"nbd://h/x?a=1&a=2", "parameter 'a' is given twice"},
        {"nbd://h/x#frag", "a fragment (#...) has no meaning here"},
        {"nbd:h:99999", "'99999' is not a port number"},
        {"nbd://h/a b", "Illegal character in path at index 9"}}) {
      InvalidOptionException e = assertThrows(InvalidOptionException.class, () -> parse(c[0]));
      assertEquals("Invalid NBD URI '" + c[0] + "': " + c[1], e.getMessage());
    }
  }
}
