package io.blockkit.cli;

import io.blockkit.api.error.BlockException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Turns any failure into the one line the user sees after {@code blockkit: }. The line never
 * holds a Java class name or a stack trace; {@code --debug} prints those.
 */
final class Errors {
  private Errors() {}

  static String oneLine(Throwable t) {
    String msg = describe(t);
    return msg.replace("\r", "").replace('\n', ' ').replaceAll(" {2,}", " ").trim();
  }

  private static String describe(Throwable t) {
    Throwable cause = t.getCause();
    if (cause != null && cause != t && (t instanceof UncheckedIOException
        || String.valueOf(cause).equals(t.getMessage()))) {
      return describe(cause); // a wrapper, or new X(cause), whose message is the cause's class name
    }
    if (t instanceof picocli.CommandLine.ParameterException p) {
      return usage(p);
    }
    if (t instanceof CliException || t instanceof BlockException) {
      return nonEmpty(t);
    }
    if (t instanceof NoSuchFileException e) {
      return "Could not open '" + e.getFile() + "': No such file or directory";
    }
    if (t instanceof AccessDeniedException e) {
      return "Could not open '" + e.getFile() + "': Permission denied";
    }
    if (t instanceof FileAlreadyExistsException e) {
      return "'" + e.getFile() + "': File exists";
    }
    if (t instanceof NotDirectoryException e) {
      return "'" + e.getFile() + "': Not a directory";
    }
    if (t instanceof DirectoryNotEmptyException e) {
      return "'" + e.getFile() + "': Directory not empty";
    }
    if (t instanceof FileSystemException e) {
      return "'" + e.getFile() + "': " + (e.getReason() != null ? e.getReason() : "I/O error");
    }
    if (t instanceof IOException) {
      return nonEmpty(t);
    }
    if (t instanceof OutOfMemoryError) {
      return "Out of memory (try fewer or smaller requests in flight: convert -m, bench -d -s)";
    }
    // a bug: say so, without Java's class names (--debug shows them)
    String m = t.getMessage();
    return "Internal error" + (m == null || m.isBlank() ? "" : ": " + m)
        + " (run with --debug for the stack trace)";
  }

  /**
   * A usage error: picocli's message, an unknown command named as such, the closest valid names
   * ("did you mean"), and where to read the usage.
   */
  private static String usage(picocli.CommandLine.ParameterException p) {
    String msg = nonEmpty(p);
    picocli.CommandLine cl = p.getCommandLine();
    List<String> suggestions = List.of();
    if (p instanceof picocli.CommandLine.UnmatchedArgumentException u && cl != null
        && !u.getUnmatched().isEmpty()) {
      String word = u.getUnmatched().get(0);
      if (word.startsWith("-")) {
        suggestions = Suggestions.closest(word.split("=", 2)[0],
            cl.getCommandSpec().optionsMap().keySet());
      } else if (cl.getParent() == null) {
        msg = "Unknown command '" + word + "'";
        suggestions = Suggestions.closest(word, cl.getSubcommands().keySet());
      }
    }
    StringBuilder sb = new StringBuilder(msg);
    if (!suggestions.isEmpty()) {
      sb.append(" (did you mean ").append(suggestions.stream().limit(3)
          .map(s -> "'" + s + "'").collect(Collectors.joining(" or "))).append("?)");
    }
    String command = cl == null ? "blockkit" : cl.getCommandSpec().qualifiedName();
    return sb.append(". Try '").append(command).append(" --help' for more information").toString();
  }

  private static String nonEmpty(Throwable t) {
    String m = t.getMessage();
    if (m == null || m.isBlank()) {
      Throwable c = t.getCause();
      if (c != null && c != t) {
        return describe(c);
      }
      if (t instanceof java.io.InterruptedIOException) {
        return "Interrupted";
      }
      return t instanceof java.io.EOFException ? "Unexpected end of file" : "I/O error";
    }
    return m;
  }
}
