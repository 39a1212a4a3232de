//! Reading the services' own pages in tests: their start tags, what they
//! load, and anything inline the Content-Security-Policy would refuse.
//! Enough of an HTML tokenizer for pages we write ourselves (comments and
//! end tags skipped, attribute values quoted or not), not for any HTML.

/// A tag's attributes: names lowercased, values unquoted.
pub type Attributes = Vec<(String, String)>;

/// A start tag: its name, its attributes, and for a `<script>` what stands
/// before its end tag.
#[derive(Debug)]
pub struct Tag {
    /// Lowercased.
    pub name: String,
    /// In the order written.
    pub attributes: Attributes,
    /// A `<script>`'s text; empty for any other tag.
    pub content: String,
}

impl Tag {
    /// The value of attribute `name`, if the tag has it.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, value)| value.as_str())
    }
}

/// The start tags of `html`, in order.
pub fn start_tags(html: &str) -> Vec<Tag> {
    let mut tags = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        if let Some(comment) = rest.strip_prefix("!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        if rest.starts_with('/') || rest.starts_with('!') {
            rest = rest.find('>').map_or("", |end| &rest[end + 1..]);
            continue;
        }
        let (name, attributes, after) = start_tag(rest);
        rest = after;
        let content = if name == "script" {
            let end = rest.find("</script").unwrap_or(rest.len());
            let content = rest[..end].to_owned();
            rest = &rest[end..];
            content
        } else {
            String::new()
        };
        tags.push(Tag {
            name,
            attributes,
            content,
        });
    }
    tags
}

/// What in `tags` a policy without `'unsafe-inline'` would refuse: a
/// `<style>` element, a `<script>` without `src` or with content, a
/// `style` attribute, an `on...` handler, a `javascript:` URL.
pub fn inline_code(tags: &[Tag]) -> Vec<String> {
    let mut inline = Vec::new();
    for tag in tags {
        if tag.name == "style" {
            inline.push("a <style> element".to_owned());
        }
        if tag.name == "script" {
            if tag.attribute("src").is_none() {
                inline.push("a <script> without src".to_owned());
            }
            if !tag.content.trim().is_empty() {
                inline.push(format!("a <script> with content: {}", tag.content.trim()));
            }
        }
        for (name, value) in &tag.attributes {
            if name == "style" {
                inline.push(format!("a style attribute on <{}>", tag.name));
            }
            if name.starts_with("on") {
                inline.push(format!("an {name} handler on <{}>", tag.name));
            }
            if value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("javascript:")
            {
                inline.push(format!("a javascript: URL in {name} on <{}>", tag.name));
            }
        }
    }
    inline
}

/// The name and attributes of the start tag `text` begins with (after its
/// `<`), and what follows its `>`.
fn start_tag(text: &str) -> (String, Attributes, &str) {
    let name_end = text
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(text.len());
    let name = text[..name_end].to_ascii_lowercase();
    let mut rest = &text[name_end..];
    let mut attributes = Vec::new();
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() {
            break;
        }
        if let Some(after) = rest.strip_prefix('>') {
            rest = after;
            break;
        }
        let key_end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '>' || c == '/')
            .unwrap_or(rest.len())
            .max(1);
        let key = rest[..key_end].to_ascii_lowercase();
        rest = rest[key_end..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (found, remaining) = match after.chars().next() {
                Some(quote @ ('"' | '\'')) => {
                    let inner = &after[1..];
                    let end = inner.find(quote).unwrap_or(inner.len());
                    (&inner[..end], inner.get(end + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after
                        .find(|c: char| c.is_whitespace() || c == '>')
                        .unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            value = found.to_owned();
            rest = remaining;
        }
        attributes.push((key, value));
    }
    (name, attributes, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_attributes_and_scripts_are_read_comments_skipped() {
        let tags = start_tags(
            r#"<!doctype html><!-- <style> --><p class=a data-x='b c'>t</p><script type="module" src="/a.js"></script><script>alert(1)</script>"#,
        );
        let names: Vec<&str> = tags.iter().map(|tag| tag.name.as_str()).collect();
        assert_eq!(names, ["p", "script", "script"]);
        assert_eq!(tags[0].attribute("class"), Some("a"));
        assert_eq!(tags[0].attribute("data-x"), Some("b c"));
        assert_eq!(tags[1].attribute("src"), Some("/a.js"));
        assert_eq!(tags[2].content, "alert(1)");
    }

    #[test]
    fn everything_inline_is_named() {
        let tags = start_tags(
            r#"<style></style><script>x()</script><p style="color:red" onclick="x()"><a href=" JavaScript:x()">"#,
        );
        assert_eq!(inline_code(&tags).len(), 6, "{:#?}", inline_code(&tags));
        assert!(
            inline_code(&start_tags(
                r#"<script type="module" src="/a.js"></script>"#
            ))
            .is_empty()
        );
    }
}
