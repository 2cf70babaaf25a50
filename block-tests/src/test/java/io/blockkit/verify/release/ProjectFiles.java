package io.blockkit.verify.release;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;

/** The checkout's poms, read as XML (no Maven model: the tests check what the files say). */
final class ProjectFiles {
  private ProjectFiles() {}

  /** The checkout's root: the nearest folder up from the working directory with the parent pom. */
  static Path root() throws IOException {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      Path pom = p.resolve("pom.xml");
      if (Files.isRegularFile(pom)
          && Files.readString(pom).contains("<artifactId>blockkit-parent</artifactId>")
          && Files.isDirectory(p.resolve("block-api"))) {
        return p;
      }
    }
    throw new IOException("no blockkit checkout above " + Path.of("").toAbsolutePath());
  }

  static Element pom(Path file) throws IOException {
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      Document d = f.newDocumentBuilder().parse(file.toFile());
      return d.getDocumentElement();
    } catch (ParserConfigurationException | SAXException e) {
      throw new IOException(file + ": " + e.getMessage(), e);
    }
  }

  static String version(Path root) throws IOException {
    return text(pom(root.resolve("pom.xml")), "version");
  }

  /** The text of the direct child {@code name} of {@code e}, or "" when there is none. */
  static String text(Element e, String name) {
    Element c = child(e, name);
    return c == null ? "" : c.getTextContent().trim();
  }

  static Element child(Element e, String name) {
    for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element c && c.getTagName().equals(name)) {
        return c;
      }
    }
    return null;
  }

  /** The direct children of {@code path}'s last element, following one child per step. */
  static List<Element> children(Element e, String... path) {
    Element at = e;
    for (int i = 0; i < path.length - 1 && at != null; i++) {
      at = child(at, path[i]);
    }
    List<Element> out = new ArrayList<>();
    if (at == null) {
      return out;
    }
    NodeList all = at.getChildNodes();
    for (int i = 0; i < all.getLength(); i++) {
      if (all.item(i) instanceof Element c && c.getTagName().equals(path[path.length - 1])) {
        out.add(c);
      }
    }
    return out;
  }
}
