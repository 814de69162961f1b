// The views that follow the selected node: the architecture table, the diagram and the
// "how is this computed" panel, behind the table's interface (`show(summary)`,
// `highlight(node)`), so the controller's one selection path reaches all three.
import { ArchitectureView } from './architecture.js';
import { DiagramView } from './diagram.js';
import { ExplainView } from './explain.js';

export class NodeViews {
  /** `onPickNode(node)` when a row or a box is picked; `session()` gives the current Session. */
  constructor(root, onPickNode, session) {
    this.session = session;
    this.table = new ArchitectureView(root, onPickNode);
    this.diagram = new DiagramView(document.getElementById('diagram-view'), {
      layout: (folded) => this.session().diagram(folded),
      onPick: onPickNode,
    });
    this.explain = new ExplainView(document.getElementById('explain'));
    this.model = null;
    this.explained = null;
  }

  /** A new summary: the table always, the diagram when the model changed. */
  show(summary) {
    this.table.show(summary);
    if (summary.model === this.model) return;
    this.model = summary.model;
    this.explained = null;
    try {
      this.diagram.show();
    } catch (e) {
      this.diagram.caption.textContent = `The diagram could not be laid out: ${e.message ?? e}`;
    }
  }

  highlight(node) {
    this.table.highlight(node);
    this.diagram.highlight(node);
    const key = `${this.model}/${node}`;
    if (key === this.explained) return;
    this.explained = key;
    try {
      this.explain.show(this.session().explain(node));
    } catch (e) {
      this.explain.error(`${node}: ${e.message ?? e}`);
    }
  }
}
