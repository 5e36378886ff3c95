"""Widget panels on ipywidgets 8, with no custom JavaScript: chat, skills, files, and all three.

```python
cj.ChatPanel(session)             # chat with streaming, live tool rows, Stop, approvals, cost
cj.SkillBrowser(registry)         # search skills, read SKILL.md, resources, validation
cj.FilesPanel(session)            # the files a session created, previewed, with downloads
cj.dashboard(session, registry)   # the three together
```

Each panel is an ipywidgets `Box`; work a click starts can be awaited with `panel.wait()`.
"""

from ._chat import ChatPanel
from ._files_panel import FilesPanel
from ._pricing import PRICES, Price
from ._skills import SkillBrowser
from .dashboard import Dashboard, dashboard

__all__ = ["PRICES", "ChatPanel", "Dashboard", "FilesPanel", "Price", "SkillBrowser", "dashboard"]
