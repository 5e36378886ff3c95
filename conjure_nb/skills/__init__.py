"""The skills layer: SKILL.md parsing, validation, `.skill` zips, scanning and the Registry.

```
frontmatter   split SKILL.md into frontmatter and body offset; parse YAML (fast path, then PyYAML)
rules         the spec's field rules, shared by the loader (lenient) and validate (either profile)
validate      cj.validate -> ValidationReport: rules plus body length, folder size, symlinks
loader        cj.load / cj.load_skill: find skills under paths, report bad ones as SkillWarnings
archive       a skill folder's files; safe extraction of .skill zips (zip-slip, symlinks, bombs)
package       cj.package: strict validation, then a deterministic .skill zip
registry      cj.Registry: a thread-safe, optionally self-updating set of skills
limits        the layer's limits as one settings object (sizes, file counts, depth)
model         cj.Skill and cj.Resources
```
"""
