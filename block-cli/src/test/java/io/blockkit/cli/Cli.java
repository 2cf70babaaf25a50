package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;

/** Runs the real tool in-process and captures what it prints. */
final class Cli {
  static final ObjectMapper JSON = new ObjectMapper();

  private Cli() {}

  record Result(int code, String out, String err) {
    List<String> errLines() {
      return err.isEmpty() ? List.of() : List.of(err.split("\n"));
    }

    JsonNode json() {
      try {
        return JSON.readTree(out);
      } catch (Exception e) {
        throw new AssertionError("not JSON: " + out, e);
      }
    }

    /** Exactly one 'blockkit: ...' line on stderr, no stack trace, the given exit code. */
    String assertOneLineError(int expectedCode) {
      assertEquals(expectedCode, code, () -> "exit code; stderr: " + err + " stdout: " + out);
      List<String> lines = errLines();
      assertEquals(1, lines.size(), () -> "one stderr line expected, got: " + err);
      assertTrue(lines.get(0).startsWith("blockkit: "), lines.get(0));
      assertFalse(err.contains("\tat "), "stack trace printed: " + err);
      assertFalse(err.contains("Exception"), "exception class name leaked: " + err);
      return lines.get(0);
    }
  }

  static Result run(String... args) {
    return run(Map.of(), false, args);
  }

  static Result run(Map<String, String> env, boolean terminal, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(args, new PrintWriter(out), new PrintWriter(err), env, terminal);
    return new Result(code, out.toString(), err.toString());
  }

  /** Runs and insists on exit code 0. */
  static Result ok(String... args) {
    Result r = run(args);
    assertEquals(0, r.code, () -> String.join(" ", args) + " failed: " + r.err + r.out);
    return r;
  }
}
