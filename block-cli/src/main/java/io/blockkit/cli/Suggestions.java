package io.blockkit.cli;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** "Did you mean": the valid names closest to a mistyped one, by edit distance. */
final class Suggestions {
  private Suggestions() {}

  /**
   * The names nearest to {@code word} (insertions, deletions, substitutions and swaps of
   * neighbours each count one), at most a third of the word's length away (at least 1, at most
   * 3); ties all given, in {@code names}' order. Empty when nothing is that close, and for a
   * one-letter word.
   */
  static List<String> closest(String word, Collection<String> names) {
    int letters = word.replaceFirst("^-+", "").length();
    if (letters < 2) {
      return List.of(); // every one-letter flag is one edit from "-Z"
    }
    int limit = Math.max(1, Math.min(3, letters / 3));
    int best = limit + 1;
    List<String> out = new ArrayList<>();
    for (String n : names) {
      int d = distance(word, n);
      if (d < best) {
        best = d;
        out.clear();
      }
      if (d == best) {
        out.add(n);
      }
    }
    return out;
  }

  /** Optimal string alignment distance. */
  static int distance(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) {
      d[i][0] = i;
    }
    for (int j = 0; j <= b.length(); j++) {
      d[0][j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        int v = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
        if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2)
            && a.charAt(i - 2) == b.charAt(j - 1)) {
          v = Math.min(v, d[i - 2][j - 2] + 1);
        }
        d[i][j] = v;
      }
    }
    return d[a.length()][b.length()];
  }
}
