"""RatingChart: how often each answer of a question was given, as a bar chart (plotext)."""

from __future__ import annotations

from textual_plotext import PlotextPlot


class RatingChart(PlotextPlot):
    DEFAULT_CSS = """
    RatingChart { height: 12; min-height: 8; }
    """

    def __init__(self, title: str, distribution: dict[str, int], **kwargs) -> None:
        super().__init__(**kwargs)
        self.title = title
        self.distribution = distribution

    def on_mount(self) -> None:
        plt = self.plt
        plt.clear_data()
        labels = [label[:14] for label in self.distribution] or ["-"]
        counts = list(self.distribution.values()) or [0]
        plt.bar(labels, counts)
        plt.title(self.title[:60])
