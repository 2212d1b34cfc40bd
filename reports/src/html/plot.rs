//! Plots as inline SVG, drawn with `plotters` (SVG backend only, no font files:
//! the browser draws the text).
//!
//! Two shapes: the latency percentile distribution as HdrHistogram's plotter
//! draws it (percentile on a log scale of `1 / (1 - p)`, so 90%, 99%, 99.9% are
//! evenly spaced), and lines over time with the warmup and drain phases shaded.

use hdrhistogram::Histogram;
use plotters::prelude::*;

use crate::RenderError;

/// Width and height of every plot, in SVG pixels (scaled down by CSS to fit).
const SIZE: (u32, u32) = (620, 300);

/// Line colours, in order: blue, orange, green, purple (Tableau's, readable on white).
pub const COLOURS: [RGBColor; 4] =
    [RGBColor(0x1f, 0x77, 0xb4), RGBColor(0xff, 0x7f, 0x0e), RGBColor(0x2c, 0xa0, 0x2c), RGBColor(0x94, 0x67, 0xbd)];

fn err(what: &str) -> impl Fn(DrawingAreaErrorKind<std::io::Error>) -> RenderError + '_ {
    move |e| RenderError::Plot(format!("{what}: {e}"))
}

/// `x` on the percentile axis: `log10(1 / (1 - q))`; 0 is the 0th percentile, 2 the 99th.
fn percentile_x(q: f64) -> f64 {
    (1.0 / (1.0 - q).max(1e-9)).log10()
}

/// The label of an x position on the percentile axis: 0 → `0%`, 1 → `90%`, 3 → `99.9%`.
pub fn percentile_label(x: f64) -> String {
    let n = x.round() as i32;
    if (x - f64::from(n)).abs() > 0.01 || n < 0 {
        return String::new();
    }
    match n {
        0 => "0%".into(),
        1 => "90%".into(),
        _ => format!("99.{}%", "9".repeat((n - 2) as usize)).replace("99.%", "99%"),
    }
}

/// The percentile distribution of one or more histograms (µs), latency in ms.
pub fn percentile_distribution(lines: &[(&str, &Histogram<u64>)]) -> Result<String, RenderError> {
    let total = lines.iter().map(|(_, h)| h.len()).max().unwrap_or(0);
    let decades = ((total.max(100) as f64).log10().ceil()).clamp(2.0, 6.0);
    let y_max = lines.iter().map(|(_, h)| h.max()).max().unwrap_or(0) as f64 / 1000.0;
    let y_max = if y_max > 0.0 { y_max * 1.08 } else { 1.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let e = err("percentile distribution");
        root.fill(&WHITE).map_err(&e)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .margin_right(34)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..decades, 0f64..y_max)
            .map_err(&e)?;
        chart
            .configure_mesh()
            .x_labels(decades as usize + 1)
            .x_label_formatter(&|x| percentile_label(*x))
            .x_desc("percentile")
            .y_desc("latency (ms)")
            .y_label_formatter(&|y| short_number(*y))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 15))
            .bold_line_style(RGBColor(0xdd, 0xdd, 0xdd))
            .light_line_style(WHITE)
            .draw()
            .map_err(&e)?;
        for (i, (name, h)) in lines.iter().enumerate() {
            if h.is_empty() {
                continue;
            }
            let colour = COLOURS[i % COLOURS.len()];
            let mut points: Vec<(f64, f64)> = Vec::new();
            for v in h.iter_quantiles(5) {
                let x = percentile_x(v.quantile_iterated_to());
                points.push((x.min(decades), v.value_iterated_to() as f64 / 1000.0));
                if x >= decades {
                    break;
                }
            }
            points.push((decades, h.max() as f64 / 1000.0));
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(&e)?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(0xcc, 0xcc, 0xcc))
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(&e)?;
        root.present().map_err(&e)?;
    }
    Ok(svg)
}

/// One line of a time plot: name and `(seconds, value)` points.
pub struct Line<'a> {
    /// Legend text.
    pub name: &'a str,
    /// The points.
    pub points: Vec<(f64, f64)>,
}

/// Lines over time (seconds since the start), with `shaded` intervals (warmup,
/// drain) drawn grey behind them.
pub fn over_time(y_desc: &str, lines: &[Line<'_>], shaded: &[(f64, f64)]) -> Result<String, RenderError> {
    let x_max = lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)).fold(1.0f64, f64::max);
    let y_top = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)).fold(0.0f64, f64::max);
    let y_max = if y_top > 0.0 { y_top * 1.1 } else { 1.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let e = err(y_desc);
        root.fill(&WHITE).map_err(&e)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .margin_right(34)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)
            .map_err(&e)?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc(y_desc)
            .y_label_formatter(&|y| short_number(*y))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 15))
            .bold_line_style(RGBColor(0xdd, 0xdd, 0xdd))
            .light_line_style(WHITE)
            .draw()
            .map_err(&e)?;
        chart
            .draw_series(
                shaded
                    .iter()
                    .map(|(a, b)| Rectangle::new([(*a, 0.0), (*b, y_max)], RGBColor(0xf0, 0xf0, 0xf0).filled())),
            )
            .map_err(&e)?;
        for (i, line) in lines.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            chart
                .draw_series(LineSeries::new(line.points.iter().copied(), colour.stroke_width(2)))
                .map_err(&e)?
                .label(line.name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
        }
        if lines.len() > 1 {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(0xcc, 0xcc, 0xcc))
                .draw()
                .map_err(&e)?;
        }
        root.present().map_err(&e)?;
    }
    Ok(svg)
}

/// `1234567` as `1.23M`, `0.25` as `0.25`.
pub fn short_number(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_percentile_axis_is_labelled_in_nines() {
        let labels: Vec<String> = (0..=5).map(|x| percentile_label(x as f64)).collect();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]);
        assert_eq!(percentile_label(1.5), "");
        assert!((percentile_x(0.99) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_distribution_plot_is_one_svg_with_both_lines_and_no_reference_outside() {
        let mut a = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
        let mut b = a.clone();
        for v in 1..=10_000u64 {
            a.record(v * 10).unwrap();
            b.record(v * 12).unwrap();
        }
        let svg = percentile_distribution(&[("corrected", &a), ("uncorrected", &b)]).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("corrected") && svg.contains("uncorrected") && svg.contains("99.9%"));
        assert!(!svg.contains("href") && !svg.contains("url("));
    }
}
