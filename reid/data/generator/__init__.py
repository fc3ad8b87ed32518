"""The renderer behind generated re-ID domains (`reid.data.synthetic.generate_domain`).

- `people`: who walks in a domain (a wardrobe of shared colours, patterns and carried things;
  an identity is a combination of them);
- `cameras`: how a domain's cameras see (a `Look`: scene family, colour cast, light, blur,
  resolution, crop habits, viewpoints, occlusion and crowding; one `Camera` per camera);
- `scene`, `figure`, `render`: drawing one image;
- `styles`: a dataset's generated style (its plan of files plus its look and wardrobe) and the
  style registry.
"""
