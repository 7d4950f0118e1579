// ironstar:needs analytics
// The chart components, bundled apart (static/dist/charts.js) so that only
// the analytics page loads ECharts and Vega.
import "./ds-echarts";
import "./vega-chart";
