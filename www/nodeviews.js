// The views that follow the selected node: the architecture table, the diagram and the
// "how is this computed" panel, behind the table's interface (`show(summary)`,
// `highlight(node)`), so the controller's one selection path reaches all three.
import { ArchitectureView } from './architecture.js';
import { DiagramView } from './diagram.js';
import { DerivationView } from './derivation.js';

export class NodeViews {
  /** `onPickNode(node)` when a row or a box is picked; `session()` gives the current Session. */
  constructor(root, onPickNode, session) {
    this.session = session;
    this.table = new ArchitectureView(root, onPickNode);
    this.diagram = new DiagramView(document.getElementById('diagram-view'), {
      layout: (folded) => this.session().diagram(folded),
      onPick: onPickNode,
    });
    this.derivation = new DerivationView(document.getElementById('derivation'));
    this.model = null;
    this.derived = null;
  }

  /** A new summary: the table always, the diagram when the model changed. */
  show(summary) {
    this.table.show(summary);
    if (summary.model === this.model) return;
    this.model = summary.model;
    this.derived = null;
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
    if (key === this.derived) return;
    this.derived = key;
    try {
      this.derivation.show(this.session().derivation(node));
    } catch (e) {
      this.derivation.error(`${node}: ${e.message ?? e}`);
    }
  }
}
